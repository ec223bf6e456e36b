"""The benchmark: run (model, dataset, profile, seed) through RecBole, file auditable results, tabulate."""
