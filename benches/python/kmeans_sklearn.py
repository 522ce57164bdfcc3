"""scikit-learn's side of benches/kmeans.sh: reads the benchmark's CSV of
feature rows, then times StandardScaler + KMeans(k, k-means++, n_init) the way
the original notebooks cluster customers. Prints "ms rss_kb inertia" for the
fit (loading the CSV is not timed; rss_kb is the process's peak RSS)."""
import resource
import sys
import time

import numpy as np
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler

path, k, n_init = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = np.loadtxt(path, delimiter=",", ndmin=2)
start = time.perf_counter()
features = StandardScaler().fit_transform(rows)
model = KMeans(n_clusters=k, init="k-means++", n_init=n_init, random_state=0).fit(features)
ms = round((time.perf_counter() - start) * 1000)
rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(ms, rss_kb, repr(float(model.inertia_)))
