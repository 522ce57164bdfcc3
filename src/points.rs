//! Rows of numbers an aggregate collects for a fit done at the end (k-means,
//! BTYD models): a flat row-major matrix that merges parallel workers'
//! partial states and travels between them as bytes. Free of pgrx.

/// The widest row accepted.
pub const MAX_FEATURES: usize = 100;

/// Collected rows, all of the same width, every value finite.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Points {
    pub dim: usize,
    pub data: Vec<f64>,
}

impl Points {
    pub fn len(&self) -> usize {
        if self.dim == 0 { 0 } else { self.data.len() / self.dim }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Adds one row; every row must have the same length and finite values.
    pub fn push(&mut self, row: &[f64]) -> Result<(), String> {
        if row.is_empty() || row.len() > MAX_FEATURES {
            return Err(format!("a feature vector has {} elements; it must have 1 to {MAX_FEATURES}", row.len()));
        }
        if self.dim == 0 {
            self.dim = row.len();
        } else if row.len() != self.dim {
            return Err(format!("feature vectors have different lengths: {} and {}", self.dim, row.len()));
        }
        if let Some((i, v)) = row.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(format!("feature {} is {v}; features must be finite numbers", i + 1));
        }
        self.data.extend_from_slice(row);
        Ok(())
    }

    /// The same rows sorted lexicographically. Fitting sorted rows makes the
    /// model depend only on which rows there are, not on the order a scan
    /// or parallel workers delivered them in (k-means++ picks rows by index).
    pub fn sorted(&self) -> Points {
        let mut rows: Vec<&[f64]> = self.data.chunks_exact(self.dim.max(1)).collect();
        rows.sort_by(|a, b| a.iter().zip(*b).map(|(x, y)| x.total_cmp(y)).find(|o| o.is_ne()).unwrap_or(std::cmp::Ordering::Equal));
        Points { dim: self.dim, data: rows.concat() }
    }

    pub fn merge(&mut self, other: Points) -> Result<(), String> {
        if other.is_empty() {
            return Ok(());
        }
        if self.dim != 0 && self.dim != other.dim {
            return Err(format!("feature vectors have different lengths: {} and {}", self.dim, other.dim));
        }
        self.dim = other.dim;
        self.data.extend(other.data);
        Ok(())
    }

    /// Bytes for a parallel worker hand-off: dim (u32 LE) then the values (f64 LE).
    pub fn serialize(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + 8 * self.data.len());
        out.extend_from_slice(&(self.dim as u32).to_le_bytes());
        for v in &self.data {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    pub fn deserialize(bytes: &[u8]) -> Result<Points, String> {
        let bad = || "corrupt aggregate state".to_string();
        let (head, body) = bytes.split_first_chunk::<4>().ok_or_else(bad)?;
        let dim = u32::from_le_bytes(*head) as usize;
        if body.len() % 8 != 0 || (dim == 0) != body.is_empty() || (dim != 0 && (body.len() / 8) % dim != 0) {
            return Err(bad());
        }
        let data = body.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes"))).collect();
        Ok(Points { dim, data })
    }
}

