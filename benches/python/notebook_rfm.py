"""The approach of the original notebooks (issue 10, item 3), timed end to end:
connect, pull rows into pandas, compute R, F, M, score quintiles with
pd.qcut, map the RF grid to the 10 segments, fit scikit-learn KMeans (k=4,
n_init=10) on standardized log features, write the segments back with COPY.

variant "lines": pulls every sale line, as the notebooks do (pandas groups).
variant "customers": pulls the per-customer aggregate a SQL GROUP BY computes.
Both read the plain-SQL pipeline's cleaned lines (plain.lines), not c360's tables.
usage: notebook_rfm.py CONNINFO lines|customers
prints "ms peak_rss_kb customers"
"""
import resource
import sys
import time
import warnings

import numpy as np
import pandas as pd
import psycopg
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler

warnings.filterwarnings("ignore", category=UserWarning)  # pandas wants SQLAlchemy
conninfo, variant = sys.argv[1], sys.argv[2]
SEGMENTS = {  # the notebooks' RF grid, the same 10 segments as SPEC §5
    r"[1-2][1-2]": "Hibernating", r"[1-2][3-4]": "At Risk", r"[1-2]5": "Can't Lose",
    r"3[1-2]": "About to Sleep", r"33": "Need Attention", r"[3-4][4-5]": "Loyal",
    r"41": "Promising", r"51": "New Customers", r"[4-5][2-3]": "Potential Loyalist",
    r"5[4-5]": "Champions",
}
start = time.perf_counter()
with psycopg.connect(conninfo) as conn:
    if variant == "lines":
        df = pd.read_sql("SELECT invoice, customer_id, invoice_ts, quantity * unit_price AS revenue "
                         "FROM plain.lines WHERE NOT is_return", conn)
        df["revenue"] = df["revenue"].astype(float)
        as_of = df["invoice_ts"].max().normalize() + pd.Timedelta(days=1)
        rfm = df.groupby("customer_id").agg(last=("invoice_ts", "max"), frequency=("invoice", "nunique"),
                                            monetary=("revenue", "sum"))
        rfm["recency_days"] = (as_of - rfm["last"].dt.normalize()).dt.days
        rfm = rfm.reset_index()
    else:
        rfm = pd.read_sql("""
            WITH o AS (SELECT invoice, min(customer_id) AS customer_id, min(invoice_ts)::date AS d,
                              sum(quantity * unit_price) AS revenue
                       FROM plain.lines WHERE NOT is_return GROUP BY invoice)
            SELECT customer_id, (SELECT max(d) + 1 FROM o) - max(d) AS recency_days,
                   count(*) AS frequency, sum(revenue)::float8 AS monetary
            FROM o GROUP BY customer_id""", conn)
    rfm["r"] = pd.qcut(rfm["recency_days"], 5, labels=[5, 4, 3, 2, 1]).astype(int)
    rfm["f"] = pd.qcut(rfm["frequency"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5]).astype(int)
    rfm["m"] = pd.qcut(rfm["monetary"], 5, labels=[1, 2, 3, 4, 5]).astype(int)
    rfm["segment"] = (rfm["r"].astype(str) + rfm["f"].astype(str)).replace(SEGMENTS, regex=True)
    features = np.log1p(rfm[["recency_days", "frequency", "monetary"]].clip(lower=0).to_numpy(dtype=float))
    rfm["cluster"] = KMeans(n_clusters=4, n_init=10, random_state=42).fit_predict(StandardScaler().fit_transform(features))
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS public.notebook_segments")
        cur.execute("CREATE TABLE public.notebook_segments (customer_id text, r int, f int, m int, segment text, cluster int)")
        with cur.copy("COPY public.notebook_segments FROM STDIN") as copy:
            for row in rfm[["customer_id", "r", "f", "m", "segment", "cluster"]].itertuples(index=False):
                copy.write_row(row)
ms = round((time.perf_counter() - start) * 1000)
print(ms, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, len(rfm))
