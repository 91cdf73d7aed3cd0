//! A network with one hidden layer of ReLU units over the same sparse TF-IDF vectors as the
//! linear models, trained by mini-batch Adam on softmax cross-entropy, with dropout on the
//! hidden layer. The first layer's rows are updated lazily: only the features present in a
//! batch move, and their Adam moments with them (an input vector has ~200 of ~40,000
//! features).
//!
//! Deterministic: initial weights, batch order and dropout masks come from a seeded
//! generator, and the sums run in a fixed order.

use crate::linear::{Rng, Sparse};
use std::sync::atomic::{AtomicBool, Ordering};

/// Training settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MlpConfig {
    pub hidden: usize,
    /// Passes over the examples (more for a small set: at least [`MIN_STEPS`] batches).
    pub epochs: usize,
    pub batch: usize,
    /// Adam's step size at the start; it falls linearly to 0 by the last batch.
    pub learning_rate: f32,
    /// The share of hidden units switched off for each example while training.
    pub dropout: f32,
    pub seed: u64,
}

impl Default for MlpConfig {
    fn default() -> Self {
        MlpConfig {
            hidden: 256,
            epochs: 10,
            batch: 64,
            learning_rate: 2e-3,
            dropout: 0.3,
            seed: 7,
        }
    }
}

/// A trained network.
#[derive(Debug, Clone, PartialEq)]
pub struct Net {
    pub hidden: usize,
    pub labels: usize,
    /// `n_features × hidden`, feature-major: a feature's row is contiguous.
    pub w1: Vec<f32>,
    pub b1: Vec<f32>,
    /// `hidden × labels`, unit-major.
    pub w2: Vec<f32>,
    pub b2: Vec<f32>,
}

impl Net {
    /// The hidden layer's activations for `x` (after the ReLU), into `h`.
    pub fn hidden_of(&self, x: &Sparse, h: &mut Vec<f32>) {
        h.clear();
        h.extend_from_slice(&self.b1);
        for &(f, v) in x {
            let at = f as usize * self.hidden;
            if let Some(row) = self.w1.get(at..at + self.hidden) {
                for (a, &w) in h.iter_mut().zip(row) {
                    *a += v * w;
                }
            }
        }
        for a in h.iter_mut() {
            *a = a.max(0.0);
        }
    }

    /// Every label's score (before the softmax).
    pub fn scores(&self, x: &Sparse) -> Vec<f32> {
        let mut h = Vec::with_capacity(self.hidden);
        self.hidden_of(x, &mut h);
        scores_of_hidden(&self.w2, &self.b2, self.labels, &h)
    }
}

/// A trained network as a model keeps it: the first layer (by far the largest, a row per
/// feature) in `i8` with one scale per hidden unit, the rest in `f32`.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantized {
    pub hidden: usize,
    pub labels: usize,
    /// `n_features × hidden`, feature-major.
    pub w1: Vec<i8>,
    /// Each hidden unit's scale: its weights are `w1 · scale`.
    pub scales: Vec<f32>,
    pub b1: Vec<f32>,
    /// `hidden × labels`, unit-major.
    pub w2: Vec<f32>,
    pub b2: Vec<f32>,
}

impl Quantized {
    pub fn of(net: &Net) -> Quantized {
        let hn = net.hidden;
        let mut max = vec![0f32; hn];
        for row in net.w1.chunks_exact(hn) {
            for (m, &w) in max.iter_mut().zip(row) {
                *m = m.max(w.abs());
            }
        }
        let scales: Vec<f32> = max
            .iter()
            .map(|&m| if m > 0.0 { m / 127.0 } else { 1.0 })
            .collect();
        let w1 = net
            .w1
            .chunks_exact(hn)
            .flat_map(|row| {
                row.iter()
                    .zip(&scales)
                    .map(|(&w, &s)| (w / s).round().clamp(-127.0, 127.0) as i8)
            })
            .collect();
        Quantized {
            hidden: hn,
            labels: net.labels,
            w1,
            scales,
            b1: net.b1.clone(),
            w2: net.w2.clone(),
            b2: net.b2.clone(),
        }
    }

    /// The hidden layer's activations for `x` (after the ReLU), into `h`; feature ids
    /// beyond the first layer are ignored.
    pub fn hidden_of(&self, x: &Sparse, h: &mut Vec<f32>) {
        h.clear();
        h.resize(self.hidden, 0.0);
        for &(f, v) in x {
            let at = f as usize * self.hidden;
            if let Some(row) = self.w1.get(at..at + self.hidden) {
                for (a, &w) in h.iter_mut().zip(row) {
                    *a += v * f32::from(w);
                }
            }
        }
        for ((a, &s), &b) in h.iter_mut().zip(&self.scales).zip(&self.b1) {
            *a = (*a * s + b).max(0.0);
        }
    }

    /// Every label's score (before the softmax).
    pub fn scores(&self, x: &Sparse) -> Vec<f32> {
        let mut h = Vec::with_capacity(self.hidden);
        self.hidden_of(x, &mut h);
        scores_of_hidden(&self.w2, &self.b2, self.labels, &h)
    }

    /// Feature `f`'s weight toward a label once the hidden units are fixed: its first-layer
    /// row through `through` (each unit's second-layer weight to the label where it fires,
    /// 0 where it does not). A ReLU network's score is linear in its input on that region.
    pub fn weight_through(&self, f: u32, through: &[f32]) -> f32 {
        let at = f as usize * self.hidden;
        self.w1.get(at..at + self.hidden).map_or(0.0, |row| {
            row.iter()
                .zip(&self.scales)
                .zip(through)
                .map(|((&w, &s), &t)| f32::from(w) * s * t)
                .sum()
        })
    }

    /// For [`Quantized::weight_through`]: the hidden units `x` fires, weighted toward `label`.
    pub fn through(&self, x: &Sparse, label: usize) -> Vec<f32> {
        let mut h = Vec::with_capacity(self.hidden);
        self.hidden_of(x, &mut h);
        h.iter()
            .enumerate()
            .map(|(k, &a)| {
                if a > 0.0 {
                    self.w2[k * self.labels + label]
                } else {
                    0.0
                }
            })
            .collect()
    }
}

fn scores_of_hidden(w2: &[f32], b2: &[f32], labels: usize, h: &[f32]) -> Vec<f32> {
    let mut out = b2.to_vec();
    for (&a, row) in h.iter().zip(w2.chunks_exact(labels)) {
        if a != 0.0 {
            for (o, &w) in out.iter_mut().zip(row) {
                *o += a * w;
            }
        }
    }
    out
}

/// Adam's moments for one block of parameters.
struct Moments {
    m: Vec<f32>,
    v: Vec<f32>,
}

impl Moments {
    fn new(n: usize) -> Moments {
        Moments {
            m: vec![0.0; n],
            v: vec![0.0; n],
        }
    }
}

/// The fewest Adam steps a training makes (BANKING77's 10 epochs are 1,570).
const MIN_STEPS: usize = 300;

const BETA1: f32 = 0.9;
const BETA2: f32 = 0.999;
const EPSILON: f32 = 1e-8;

/// One Adam step on `w` (the parameters at `at..`) with gradient `g`.
#[inline]
fn adam(w: &mut [f32], g: &[f32], mo: &mut Moments, at: usize, step: (f32, f32, f32)) {
    let (lr, c1, c2) = step;
    let n = g.len();
    let (m, v) = (&mut mo.m[at..at + n], &mut mo.v[at..at + n]);
    for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m).zip(v) {
        *m = BETA1 * *m + (1.0 - BETA1) * g;
        *v = BETA2 * *v + (1.0 - BETA2) * g * g;
        *w -= lr * (*m / c1) / ((*v / c2).sqrt() + EPSILON);
    }
}

/// Trains a network on `xs` (feature ids below `n_features`) labelled `gold` (below
/// `n_labels`). When `stop` is set, it ends after the batch it is in (what it gives then is
/// half trained: the caller, who set it, throws it away).
pub fn train(
    xs: &[Sparse],
    gold: &[usize],
    n_labels: usize,
    n_features: usize,
    cfg: &MlpConfig,
    stop: &AtomicBool,
) -> Net {
    let (d, hn, l) = (n_features, cfg.hidden.max(1), n_labels);
    let mut rng = Rng::new(cfg.seed);
    let mut uniform =
        |a: f32| ((rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * a;
    // The first layer starts small: an input has ~200 non-zero features of norm ~1.4 in
    // all, so each unit's input stays near the second layer's scale.
    let a1 = (6.0 / (d + hn) as f32).sqrt() * (d as f32 / 20.0).sqrt() * 0.1;
    let a2 = (6.0 / (hn + l) as f32).sqrt();
    let mut net = Net {
        hidden: hn,
        labels: l,
        w1: (0..d * hn).map(|_| uniform(a1)).collect(),
        b1: vec![0.0; hn],
        w2: (0..hn * l).map(|_| uniform(a2)).collect(),
        b2: vec![0.0; l],
    };
    let (mut m1, mut mb1, mut m2, mut mb2) = (
        Moments::new(d * hn),
        Moments::new(hn),
        Moments::new(hn * l),
        Moments::new(l),
    );
    let batch = cfg.batch.max(1);
    let batches_per_epoch = xs.len().div_ceil(batch).max(1);
    // A small set makes few batches an epoch: it gets more epochs, up to `MIN_STEPS` steps.
    let epochs = cfg.epochs.max(MIN_STEPS.div_ceil(batches_per_epoch));
    let total = (batches_per_epoch * epochs).max(1);
    let keep = 1.0 - cfg.dropout.clamp(0.0, 0.95);
    let mut order: Vec<usize> = (0..xs.len()).collect();
    // Per batch: the rows of W1 it touched (slot of each feature, or none) and their
    // gradients; dense gradients for the rest.
    let mut slot_of = vec![u32::MAX; d];
    let mut touched: Vec<u32> = Vec::new();
    let mut g1: Vec<f32> = Vec::new();
    let (mut gb1, mut g2, mut gb2) = (vec![0f32; hn], vec![0f32; hn * l], vec![0f32; l]);
    let (mut pre, mut h, mut mask, mut dh) = (
        vec![0f32; hn],
        vec![0f32; hn],
        vec![0f32; hn],
        vec![0f32; hn],
    );
    let mut t = 0usize;
    'epochs: for _ in 0..epochs {
        rng.shuffle(&mut order);
        for chunk in order.chunks(batch) {
            if stop.load(Ordering::Relaxed) {
                break 'epochs;
            }
            let inv = 1.0 / chunk.len() as f32;
            for &i in chunk {
                let x = &xs[i];
                // Forward, with this example's dropout mask.
                pre.copy_from_slice(&net.b1);
                for &(f, v) in x {
                    let row = &net.w1[f as usize * hn..(f as usize + 1) * hn];
                    for (a, &w) in pre.iter_mut().zip(row) {
                        *a += v * w;
                    }
                }
                for k in 0..hn {
                    let on = (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32 <= keep;
                    mask[k] = if on { 1.0 / keep } else { 0.0 };
                    h[k] = pre[k].max(0.0) * mask[k];
                }
                let mut p = net.b2.clone();
                for (&a, row) in h.iter().zip(net.w2.chunks_exact(l)) {
                    if a != 0.0 {
                        for (o, &w) in p.iter_mut().zip(row) {
                            *o += a * w;
                        }
                    }
                }
                let max = p.iter().fold(f32::NEG_INFINITY, |m, &s| m.max(s));
                let mut sum = 0.0;
                for s in p.iter_mut() {
                    *s = (*s - max).exp();
                    sum += *s;
                }
                // d loss / d score: p − onehot, averaged over the batch.
                for (c, s) in p.iter_mut().enumerate() {
                    *s = (*s / sum - f32::from(u8::from(c == gold[i]))) * inv;
                }
                for (g, s) in gb2.iter_mut().zip(&p) {
                    *g += s;
                }
                // Back through the second layer.
                for (k, (row, grow)) in net
                    .w2
                    .chunks_exact(l)
                    .zip(g2.chunks_exact_mut(l))
                    .enumerate()
                {
                    let a = h[k];
                    let mut back = 0.0;
                    for ((g, &w), &s) in grow.iter_mut().zip(row).zip(&p) {
                        *g += a * s;
                        back += w * s;
                    }
                    dh[k] = if pre[k] > 0.0 { back * mask[k] } else { 0.0 };
                }
                for (g, &v) in gb1.iter_mut().zip(&dh) {
                    *g += v;
                }
                for &(f, v) in x {
                    let f = f as usize;
                    if slot_of[f] == u32::MAX {
                        slot_of[f] = touched.len() as u32;
                        touched.push(f as u32);
                        g1.resize(touched.len() * hn, 0.0);
                    }
                    let s = slot_of[f] as usize * hn;
                    for (g, &v2) in g1[s..s + hn].iter_mut().zip(&dh) {
                        *g += v * v2;
                    }
                }
            }
            t += 1;
            let lr = cfg.learning_rate * (1.0 - (t - 1) as f32 / total as f32);
            let step = (lr, 1.0 - BETA1.powi(t as i32), 1.0 - BETA2.powi(t as i32));
            for (s, &f) in touched.iter().enumerate() {
                let f = f as usize;
                let at = f * hn;
                adam(
                    &mut net.w1[at..at + hn],
                    &g1[s * hn..(s + 1) * hn],
                    &mut m1,
                    at,
                    step,
                );
                slot_of[f] = u32::MAX;
            }
            adam(&mut net.b1, &gb1, &mut mb1, 0, step);
            adam(&mut net.w2, &g2, &mut m2, 0, step);
            adam(&mut net.b2, &gb2, &mut mb2, 0, step);
            touched.clear();
            g1.clear();
            gb1.fill(0.0);
            g2.fill(0.0);
            gb2.fill(0.0);
        }
    }
    net
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three classes, each marked by its own features and sharing noise features; the
    /// third needs both of two features together (not linearly separable from the others
    /// by either alone).
    fn toy() -> (Vec<Sparse>, Vec<usize>) {
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        let mut rng = Rng::new(5);
        for i in 0..60 {
            let noise = (4 + rng.below(6)) as u32;
            let (x, y) = match i % 3 {
                0 => (vec![(0, 0.8), (noise, 0.6)], 0),
                1 => (vec![(1, 0.8), (noise, 0.6)], 1),
                _ => (vec![(0, 0.6), (1, 0.6), (noise, 0.5)], 2),
            };
            xs.push(x);
            ys.push(y);
        }
        (xs, ys)
    }

    fn argmax(s: &[f32]) -> usize {
        (0..s.len()).fold(0, |b, i| if s[i] > s[b] { i } else { b })
    }

    /// A network told to stop makes no step: its biases, which start at zero, stay there.
    #[test]
    fn a_stopped_training_makes_no_step() {
        let (xs, ys) = toy();
        let cfg = MlpConfig {
            hidden: 16,
            ..Default::default()
        };
        let net = train(&xs, &ys, 3, 10, &cfg, &AtomicBool::new(true));
        assert!(net.b1.iter().chain(&net.b2).all(|&b| b == 0.0));
        let trained = train(&xs, &ys, 3, 10, &cfg, &AtomicBool::new(false));
        assert!(trained.b2.iter().any(|&b| b != 0.0));
    }

    #[test]
    fn learns_classes_a_linear_boundary_per_feature_would_not() {
        let (xs, ys) = toy();
        let cfg = MlpConfig {
            hidden: 16,
            epochs: 60,
            batch: 8,
            learning_rate: 1e-2,
            ..Default::default()
        };
        let net = train(&xs, &ys, 3, 10, &cfg, &AtomicBool::new(false));
        for (x, &y) in xs.iter().zip(&ys) {
            assert_eq!(argmax(&net.scores(x)), y, "{x:?}");
        }
    }

    #[test]
    fn training_is_deterministic() {
        let (xs, ys) = toy();
        let cfg = MlpConfig {
            hidden: 8,
            epochs: 3,
            ..Default::default()
        };
        assert_eq!(
            train(&xs, &ys, 3, 10, &cfg, &AtomicBool::new(false)),
            train(&xs, &ys, 3, 10, &cfg, &AtomicBool::new(false))
        );
        let other = MlpConfig { seed: 8, ..cfg };
        assert_ne!(
            train(&xs, &ys, 3, 10, &cfg, &AtomicBool::new(false)),
            train(&xs, &ys, 3, 10, &other, &AtomicBool::new(false))
        );
    }

    /// The hidden layer computed for prediction is the training forward pass without
    /// dropout: unknown feature ids are ignored, not a panic.
    #[test]
    fn unknown_features_are_ignored() {
        let (xs, ys) = toy();
        let net = train(
            &xs,
            &ys,
            3,
            10,
            &MlpConfig {
                hidden: 4,
                epochs: 1,
                ..Default::default()
            },
            &AtomicBool::new(false),
        );
        assert_eq!(
            net.scores(&vec![(0, 0.8)]),
            net.scores(&vec![(0, 0.8), (99, 1.0)])
        );
    }
}
