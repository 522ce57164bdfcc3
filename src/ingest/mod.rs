//! Ingest: CSV files and staged rows into the typed tables, losing nothing.
pub mod csv_reader;
