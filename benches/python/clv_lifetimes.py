"""lifetimes' side of benches/clv.sh: reads the benchmark's BTYD summary CSV
(frequency, recency, T, monetary), then times BetaGeoFitter and
GammaGammaFitter fits and scoring every customer (p_alive, expected
purchases over 13 weeks, 12-month CLV at 1% a month), as a notebook would.
Prints "fit_ms score_ms rss_kb penalizer r alpha a b p q v" (loading is not
timed). When a fit raises ConvergenceError, lifetimes' advice is followed:
refit with penalizer_coef 0.001 (reported in the penalizer column; the fit
time includes the failed attempt)."""
import resource
import sys
import time

import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import ConvergenceError

d = pd.read_csv(sys.argv[1], names=["frequency", "recency", "T", "monetary"])
start = time.perf_counter()
repeat = d[(d["frequency"] > 0) & (d["monetary"] > 0)]
penalizer = 0.0
try:
    bg = BetaGeoFitter().fit(d["frequency"], d["recency"], d["T"])
    gg = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary"])
except ConvergenceError:
    penalizer = 0.001
    bg = BetaGeoFitter(penalizer_coef=penalizer).fit(d["frequency"], d["recency"], d["T"])
    gg = GammaGammaFitter(penalizer_coef=penalizer).fit(repeat["frequency"], repeat["monetary"])
fit_ms = round((time.perf_counter() - start) * 1000)
start = time.perf_counter()
p_alive = bg.conditional_probability_alive(d["frequency"], d["recency"], d["T"])
expected = bg.conditional_expected_number_of_purchases_up_to_time(13, d["frequency"], d["recency"], d["T"])
clv = gg.customer_lifetime_value(bg, d["frequency"], d["recency"], d["T"], d["monetary"], time=12, freq="W", discount_rate=0.01)
score_ms = round((time.perf_counter() - start) * 1000)
rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
p = bg.params_
g = gg.params_
print(fit_ms, score_ms, rss_kb, penalizer, p["r"], p["alpha"], p["a"], p["b"], g["p"], g["q"], g["v"])
