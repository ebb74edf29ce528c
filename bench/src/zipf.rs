//! Zipf-distributed post choice: a few posts are read by many, most by few, as on
//! a real site. Sampling is a binary search over the cumulative weights.

use rand::Rng;

pub struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    /// `n` posts, exponent `s` (1.0 is the classic Zipf law; 0 is uniform).
    pub fn new(n: usize, s: f64) -> Self {
        let mut total = 0.0;
        let cumulative = (1..=n.max(1))
            .map(|rank| {
                total += 1.0 / (rank as f64).powf(s);
                total
            })
            .collect();
        Self { cumulative }
    }

    /// A post index in `0..n`; 0 is the most popular.
    pub fn sample(&self, rng: &mut impl Rng) -> usize {
        let total = *self.cumulative.last().unwrap_or(&1.0);
        let x = rng.random::<f64>() * total;
        self.cumulative
            .partition_point(|&c| c < x)
            .min(self.cumulative.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_one_is_the_most_popular() {
        let zipf = Zipf::new(100, 1.0);
        let mut rng = rand::rng();
        let mut hits = [0usize; 100];
        for _ in 0..20_000 {
            hits[zipf.sample(&mut rng)] += 1;
        }
        assert!(hits[0] > hits[1] && hits[1] > hits[50]);
    }
}
