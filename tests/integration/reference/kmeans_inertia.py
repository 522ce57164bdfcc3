"""Reference k-means for the clusters test: scikit-learn's KMeans (k-means++,
best of n_init restarts) on z-scored log1p features, as SPEC.md section 6
defines them. Reads CSV rows "recency_days,frequency,monetary" on stdin and
prints the inertia (sum of squared distances, standardized space)."""
import sys

import numpy as np
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler

k = int(sys.argv[1])
rows = np.loadtxt(sys.stdin, delimiter=",", ndmin=2)
features = StandardScaler().fit_transform(np.log1p(rows))
model = KMeans(n_clusters=k, init="k-means++", n_init=10, random_state=0).fit(features)
print(repr(float(model.inertia_)))
