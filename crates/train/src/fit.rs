//! Logistic regression, written here (docs/dependencies.md says why not
//! linfa): AdaGrad over sparse examples, L2 on every weight but the bias,
//! dense features standardised while training and the scaling folded back
//! into the weights, so the shipped model reads raw feature values.

use newswire_cleaner::classifier::{DENSE, DIMENSION, Vector};

use crate::data::Example;

/// Training settings.
pub struct Settings {
    pub epochs: usize,
    pub rate: f32,
    /// L2 on the dense weights and on the hashed ones.
    pub l2_dense: f32,
    pub l2_hashed: f32,
    /// Weight of a content block's error against a furniture block's: above
    /// 1 the model errs towards keeping.
    pub content_weight: f32,
    pub seed: u64,
}

/// xorshift64*: a fixed, seeded order of examples.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Mean and standard deviation of each dense feature over `rows`.
fn scaling(examples: &[Example], rows: &[usize]) -> ([f32; DENSE], [f32; DENSE]) {
    let mut mean = [0f64; DENSE];
    let mut sq = [0f64; DENSE];
    for &r in rows {
        for (i, &x) in examples[r].vector.dense.iter().enumerate() {
            mean[i] += f64::from(x);
            sq[i] += f64::from(x) * f64::from(x);
        }
    }
    let n = rows.len().max(1) as f64;
    let mut m = [0f32; DENSE];
    let mut s = [1f32; DENSE];
    for i in 1..DENSE {
        let mu = mean[i] / n;
        let var = (sq[i] / n - mu * mu).max(0.0);
        m[i] = mu as f32;
        s[i] = if var > 1e-12 { var.sqrt() as f32 } else { 1.0 };
    }
    (m, s)
}

fn logit(w: &[f32], dense: &[f32; DENSE], v: &Vector) -> f32 {
    let mut z: f32 = dense.iter().zip(w).map(|(x, w)| x * w).sum();
    for &h in &v.hashed {
        z += w[DENSE + usize::from(h)];
    }
    z
}

/// Train on the examples at `rows`; the weights, for raw feature values.
pub fn train(examples: &[Example], rows: &[usize], settings: &Settings) -> Vec<f32> {
    let (mean, std) = scaling(examples, rows);
    let mut w = vec![0f32; DIMENSION];
    let mut g2 = vec![1e-6f32; DIMENSION];
    let mut order = rows.to_vec();
    let mut rng = Rng(settings.seed.max(1));
    let mut scaled = [0f32; DENSE];
    for epoch in 0..settings.epochs {
        for i in (1..order.len()).rev() {
            let j = (rng.next() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        let mut loss = 0f64;
        for &r in &order {
            let ex = &examples[r];
            for k in 0..DENSE {
                scaled[k] = (ex.vector.dense[k] - mean[k]) / std[k];
            }
            scaled[0] = 1.0;
            let z = logit(&w, &scaled, &ex.vector);
            let p = 1.0 / (1.0 + (-z).exp());
            let y = if ex.furniture { 1.0 } else { 0.0 };
            let weight = if ex.furniture { 1.0 } else { settings.content_weight };
            loss -= f64::from(weight * if ex.furniture { p.max(1e-7).ln() } else { (1.0 - p).max(1e-7).ln() });
            let err = weight * (p - y);
            for k in 0..DENSE {
                let g = err * scaled[k] + if k == 0 { 0.0 } else { settings.l2_dense * w[k] };
                g2[k] += g * g;
                w[k] -= settings.rate * g / g2[k].sqrt();
            }
            for &h in &ex.vector.hashed {
                let k = DENSE + usize::from(h);
                let g = err + settings.l2_hashed * w[k];
                g2[k] += g * g;
                w[k] -= settings.rate * g / g2[k].sqrt();
            }
        }
        eprintln!("newswire-train: epoch {} loss {:.4}", epoch + 1, loss / order.len().max(1) as f64);
    }
    // Fold the scaling in: w·(x - m)/s = (w/s)·x - Σ w·m/s.
    let mut bias = w[0];
    for k in 1..DENSE {
        w[k] /= std[k];
        bias -= w[k] * mean[k];
    }
    w[0] = bias;
    w
}
