//! Zipf-distributed post choice: a few posts are read by many, most by few, as on
//! a real site. `rand_distr`'s Zipf, counted from 0.

use rand::Rng;
use rand_distr::{Distribution, ZipfError};

pub struct Zipf(rand_distr::Zipf<f64>);

impl Zipf {
    /// `n` posts, exponent `s` (1.0 is the classic Zipf law; 0 is uniform).
    pub fn new(n: usize, s: f64) -> Result<Self, ZipfError> {
        rand_distr::Zipf::new(n.max(1) as f64, s).map(Self)
    }

    /// A post index in `0..n`; 0 is the most popular.
    pub fn sample(&self, rng: &mut impl Rng) -> usize {
        (self.0.sample(rng) as usize).saturating_sub(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_one_is_the_most_popular_and_every_index_is_in_range() {
        let zipf = Zipf::new(100, 1.0).unwrap();
        let mut rng = rand::rng();
        let mut hits = [0usize; 100];
        for _ in 0..20_000 {
            hits[zipf.sample(&mut rng)] += 1;
        }
        assert!(hits[0] > hits[1] && hits[1] > hits[50]);
        assert!(Zipf::new(10, -1.0).is_err());
    }
}
