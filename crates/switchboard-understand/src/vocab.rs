//! A model's vocabulary: each n-gram's key (a 64-bit hash already) to its feature, in an
//! open-addressing table with linear probing, kept at most 60% full.
//!
//! Every n-gram of every message is looked up here, most of them absent. With keys that are
//! hashes and a table at most 60% full, an absent key usually costs one slot: one
//! multiplication, one load and one comparison. A general map does more for each look-up
//! (`HashMap` with the keys as their own hash was a tenth of the understanding step).

/// A feature of the vocabulary: its place in the weights, and its inverse document frequency.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Feature {
    pub id: u32,
    pub idf: f32,
}

/// Key 0 marks an empty slot; the key 0 itself, should an n-gram hash to it, is kept aside.
const EMPTY: u64 = 0;

/// The keys and their features sit in two arrays side by side: a look-up reads only the keys
/// (8 bytes a slot) until it finds its key, and most look-ups are of absent n-grams. Kept
/// together (16 bytes a slot), the purpose model's table was 1 MB, the size of this
/// machine's second-level cache, and its misses were half of those left in the step.
#[derive(Clone)]
pub(crate) struct Vocabulary {
    keys: Vec<u64>,
    features: Vec<Feature>,
    zero: Option<Feature>,
    /// `64 − log2(slots)`: a key's home slot is its mixed hash's top bits.
    shift: u32,
    len: usize,
}

impl Default for Vocabulary {
    fn default() -> Self {
        Vocabulary::with_capacity(0)
    }
}

const NONE: Feature = Feature { id: 0, idf: 0.0 };

impl Vocabulary {
    /// A table for `n` features without growing.
    pub fn with_capacity(n: usize) -> Vocabulary {
        let slots = (n * 5 / 3 + 1).max(16).next_power_of_two();
        Vocabulary {
            keys: vec![EMPTY; slots],
            features: vec![NONE; slots],
            zero: None,
            shift: 64 - slots.trailing_zeros(),
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    fn home(&self, key: u64) -> usize {
        // FNV's low bits are its weakest: mix, then take the top bits.
        (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize
    }

    /// The feature of `key`, if the vocabulary has it.
    #[inline]
    pub fn get(&self, key: u64) -> Option<Feature> {
        if key == EMPTY {
            return self.zero;
        }
        let mask = self.keys.len() - 1;
        let mut at = self.home(key);
        loop {
            let k = self.keys[at];
            if k == key {
                return Some(self.features[at]);
            }
            if k == EMPTY {
                return None;
            }
            at = (at + 1) & mask;
        }
    }

    /// Reads `key`'s home slot, so that a look-up soon after finds it in the cache: touching
    /// every n-gram's slot first lets the core wait for their cache misses together.
    #[inline]
    pub fn touch(&self, key: u64) -> u64 {
        self.keys[self.home(key)]
    }

    /// Adds `key`; gives back the feature it had, if it was there already (then it is
    /// replaced).
    pub fn insert(&mut self, key: u64, feature: Feature) -> Option<Feature> {
        if key == EMPTY {
            let old = self.zero.replace(feature);
            self.len += usize::from(old.is_none());
            return old;
        }
        if 5 * (self.len + 1) > 3 * self.keys.len() {
            self.grow();
        }
        let mask = self.keys.len() - 1;
        let mut at = self.home(key);
        loop {
            let k = self.keys[at];
            if k == key {
                return Some(std::mem::replace(&mut self.features[at], feature));
            }
            if k == EMPTY {
                self.keys[at] = key;
                self.features[at] = feature;
                self.len += 1;
                return None;
            }
            at = (at + 1) & mask;
        }
    }

    fn grow(&mut self) {
        let old = std::mem::replace(self, Vocabulary::with_capacity(self.keys.len()));
        for (k, f) in old.iter() {
            self.insert(k, f);
        }
    }

    /// Every key and its feature, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, Feature)> + '_ {
        self.zero.map(|f| (EMPTY, f)).into_iter().chain(
            self.keys
                .iter()
                .zip(&self.features)
                .filter(|(k, _)| **k != EMPTY)
                .map(|(k, f)| (*k, *f)),
        )
    }
}

impl std::fmt::Debug for Vocabulary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vocabulary")
            .field("len", &self.len)
            .finish()
    }
}

impl PartialEq for Vocabulary {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().all(|(k, f)| other.get(k) == Some(f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn f(id: u32) -> Feature {
        Feature {
            id,
            idf: id as f32 / 2.0,
        }
    }

    /// The same answers as a `HashMap` for present and absent keys, including keys that
    /// share a home slot, key 0, and a replaced entry; growth keeps everything.
    #[test]
    fn behaves_like_a_map() {
        let mut v = Vocabulary::with_capacity(4);
        let mut want = HashMap::new();
        let mut x = 0x1234_5678_9abc_def0u64;
        let mut keys = vec![0u64, 1, u64::MAX];
        for _ in 0..5000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            keys.push(x);
        }
        // Keys with the same top bits after mixing land on the same slot: hash order
        // collisions are exercised by the sheer number in a small table, and by these.
        keys.extend([1u64 << 63, (1u64 << 63) | 1, 2, 3]);
        for (i, &k) in keys.iter().enumerate() {
            assert_eq!(v.insert(k, f(i as u32)), want.insert(k, f(i as u32)), "{k}");
        }
        assert_eq!(v.insert(keys[3], f(9)), want.insert(keys[3], f(9)));
        assert_eq!(v.len(), want.len());
        for (&k, &feature) in &want {
            assert_eq!(v.get(k), Some(feature));
        }
        let mut y = 99u64;
        for _ in 0..5000 {
            y = y.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            assert_eq!(v.get(y), want.get(&y).copied(), "{y}");
        }
        assert_eq!(v.iter().count(), want.len());
        assert!(5 * v.len() <= 3 * v.keys.len(), "kept at most 60% full");
    }

    #[test]
    fn equality_ignores_the_table_size() {
        let mut a = Vocabulary::with_capacity(1);
        let mut b = Vocabulary::with_capacity(1000);
        for k in 0..50u64 {
            a.insert(k * 7919, f(k as u32));
            b.insert(k * 7919, f(k as u32));
        }
        assert!(a == b);
        b.insert(5, f(99));
        assert!(a != b);
    }
}
