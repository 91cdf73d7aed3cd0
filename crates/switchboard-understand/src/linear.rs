//! One-vs-rest linear support vector machines (L2-regularised, squared hinge loss), trained by
//! dual coordinate descent (Hsieh et al., "A Dual Coordinate Descent Method for Large-scale
//! Linear SVM", ICML 2008; the solver behind LIBLINEAR's `-s 1`). Each class is its own
//! binary problem, so classes train in parallel on scoped threads.
//!
//! Deterministic: examples are visited in an order drawn from a seeded generator, and the
//! result does not depend on the number of threads.

use std::sync::atomic::{AtomicBool, Ordering};

/// A sparse example: `(feature index, value)` pairs; the bias is added by the solver.
pub type Sparse = Vec<(u32, f32)>;

/// Solver settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SvmConfig {
    /// Inverse regularisation strength.
    pub c: f32,
    /// Stop when the projected gradient's spread falls below this.
    pub eps: f32,
    pub max_epochs: usize,
    pub seed: u64,
}

impl Default for SvmConfig {
    fn default() -> Self {
        SvmConfig {
            c: 1.0,
            eps: 0.1,
            max_epochs: 200,
            seed: 7,
        }
    }
}

/// xorshift64*: small, fast, seeded; enough to shuffle.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

/// Trains one binary problem: `positive[i]` says whether example `i` is in the class.
/// Returns the weights (`n_features` of them) and the bias; when `stop` is set, after the
/// epoch it is in (half trained: the caller, who set it, throws them away).
pub fn train_binary(
    xs: &[Sparse],
    positive: &[bool],
    n_features: usize,
    cfg: &SvmConfig,
    seed: u64,
    stop: &AtomicBool,
) -> (Vec<f32>, f32) {
    let n = xs.len();
    let mut w = vec![0f32; n_features];
    let mut b = 0f32; // the bias, as the weight of a constant feature 1
    let mut alpha = vec![0f32; n];
    let d = 1.0 / (2.0 * cfg.c);
    let qd: Vec<f32> = xs
        .iter()
        .map(|x| x.iter().map(|&(_, v)| v * v).sum::<f32>() + 1.0 + d)
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = Rng::new(seed);
    for _ in 0..cfg.max_epochs {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        rng.shuffle(&mut order);
        let (mut max_pg, mut min_pg) = (f32::NEG_INFINITY, f32::INFINITY);
        for &i in &order {
            let y = if positive[i] { 1.0 } else { -1.0 };
            let x = &xs[i];
            let wx: f32 = x.iter().map(|&(j, v)| w[j as usize] * v).sum::<f32>() + b;
            let g = y * wx - 1.0 + d * alpha[i];
            let pg = if alpha[i] == 0.0 { g.min(0.0) } else { g };
            max_pg = max_pg.max(pg);
            min_pg = min_pg.min(pg);
            if pg.abs() > 1e-12 {
                let old = alpha[i];
                alpha[i] = (old - g / qd[i]).max(0.0);
                let step = (alpha[i] - old) * y;
                if step != 0.0 {
                    for &(j, v) in x {
                        w[j as usize] += step * v;
                    }
                    b += step;
                }
            }
        }
        if max_pg - min_pg < cfg.eps {
            break;
        }
    }
    (w, b)
}

/// Trains one problem per class, on up to `threads` threads. Returns per class its weights and
/// bias.
pub fn train_one_vs_rest(
    xs: &[Sparse],
    labels: &[usize],
    n_classes: usize,
    n_features: usize,
    cfg: &SvmConfig,
    threads: usize,
    stop: &AtomicBool,
) -> Vec<(Vec<f32>, f32)> {
    let threads = threads.clamp(1, n_classes.max(1));
    let mut out: Vec<Option<(Vec<f32>, f32)>> = vec![None; n_classes];
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    (t..n_classes)
                        .step_by(threads)
                        .map(|c| {
                            let positive: Vec<bool> = labels.iter().map(|&l| l == c).collect();
                            let seed = cfg.seed.wrapping_add(c as u64);
                            (c, train_binary(xs, &positive, n_features, cfg, seed, stop))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            // A panic in a worker is a bug in this module; surface it where it happened.
            let done = h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            for (c, wb) in done {
                out[c] = Some(wb);
            }
        }
    });
    out.into_iter()
        .map(|wb| wb.unwrap_or_else(|| (vec![0.0; n_features], 0.0)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two separable clusters on features 0 and 1.
    fn toy() -> (Vec<Sparse>, Vec<usize>) {
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for i in 0..20 {
            let jitter = (i as f32) * 0.01;
            xs.push(vec![(0, 1.0 - jitter), (2, 0.2)]);
            ys.push(0);
            xs.push(vec![(1, 1.0 - jitter), (2, 0.2)]);
            ys.push(1);
        }
        (xs, ys)
    }

    #[test]
    fn separates_separable_classes() {
        let (xs, ys) = toy();
        let models = train_one_vs_rest(
            &xs,
            &ys,
            2,
            3,
            &SvmConfig::default(),
            2,
            &AtomicBool::new(false),
        );
        for (x, &y) in xs.iter().zip(&ys) {
            let scores: Vec<f32> = models
                .iter()
                .map(|(w, b)| x.iter().map(|&(j, v)| w[j as usize] * v).sum::<f32>() + b)
                .collect();
            let best = if scores[0] >= scores[1] { 0 } else { 1 };
            assert_eq!(best, y);
        }
    }

    /// A training told to stop before it starts learns nothing: all weights stay zero.
    #[test]
    fn a_stopped_training_ends_before_its_next_epoch() {
        let (xs, ys) = toy();
        let stopped = AtomicBool::new(true);
        let models = train_one_vs_rest(&xs, &ys, 2, 3, &SvmConfig::default(), 2, &stopped);
        assert!(
            models
                .iter()
                .all(|(w, b)| *b == 0.0 && w.iter().all(|&v| v == 0.0)),
            "{models:?}"
        );
    }

    #[test]
    fn deterministic_whatever_the_threads() {
        let (xs, ys) = toy();
        let one = train_one_vs_rest(
            &xs,
            &ys,
            2,
            3,
            &SvmConfig::default(),
            1,
            &AtomicBool::new(false),
        );
        let two = train_one_vs_rest(
            &xs,
            &ys,
            2,
            3,
            &SvmConfig::default(),
            2,
            &AtomicBool::new(false),
        );
        assert_eq!(one, two);
    }

    #[test]
    fn shuffle_is_a_seeded_permutation() {
        let mut a: Vec<u32> = (0..50).collect();
        let mut b = a.clone();
        Rng::new(3).shuffle(&mut a);
        Rng::new(3).shuffle(&mut b);
        assert_eq!(a, b);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert_ne!(a, sorted);
    }
}
