pub mod bgnbd;
pub mod gamma_gamma;
pub mod special;
