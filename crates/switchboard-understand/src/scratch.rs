//! Buffers each thread reuses from one message to the next.
//!
//! Understanding a message fills about twenty short vectors (tokens, n-grams, feature ids,
//! counts, shares); allocating and freeing them anew for every message was a tenth of the
//! step. A buffer is taken from its thread's slot, used, and given back. Taking it while it
//! is out (a nested use) just gives a new, empty vector, so the worst case is an allocation.

use std::cell::Cell;
use std::thread::LocalKey;

/// A thread's spare buffer of one kind:
/// `thread_local!(static NAME: Cell<Vec<T>> = const { Cell::new(Vec::new()) })`.
pub(crate) type Buffer<T> = LocalKey<Cell<Vec<T>>>;

/// The largest buffer kept, in elements: one huge text's buffers are freed, not kept by the
/// thread for good.
const KEEP: usize = 1 << 16;

/// The thread's spare buffer of this kind, empty.
pub(crate) fn take<T: 'static>(key: &'static Buffer<T>) -> Vec<T> {
    let mut v = key.take();
    v.clear();
    v
}

/// Gives a buffer back for the next message (emptied now, so what it held is dropped now).
pub(crate) fn give<T: 'static>(key: &'static Buffer<T>, mut v: Vec<T>) {
    if v.capacity() <= KEEP {
        v.clear();
        key.set(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local!(static NUMBERS: Cell<Vec<u32>> = const { Cell::new(Vec::new()) });

    #[test]
    fn a_buffer_comes_back_empty_and_a_nested_take_gets_its_own() {
        let mut a = take(&NUMBERS);
        a.extend([1, 2, 3]);
        let cap = a.capacity();
        let b = take(&NUMBERS);
        assert!(
            b.is_empty() && b.capacity() == 0,
            "the buffer is out: a new one"
        );
        give(&NUMBERS, a);
        let again = take(&NUMBERS);
        assert!(again.is_empty());
        assert_eq!(again.capacity(), cap, "the same allocation, reused");
        give(&NUMBERS, again);
        give(&NUMBERS, Vec::with_capacity(KEEP + 1));
        assert_eq!(take(&NUMBERS).capacity(), cap, "a huge buffer is not kept");
    }
}
