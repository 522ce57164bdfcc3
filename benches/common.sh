# Shared by the benchmark scripts: a release build installed into the
# project-local cluster, and a server-readable copy of the Online Retail file
# at $dir/online_retail.csv.
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/env.sh"
cd "$C360_ROOT"
src="$(cd "$C360_ROOT/.." && pwd)/shared/data/online_retail/online_retail.csv.gz"
[ -f "$src" ] || die "$src not found: the benchmark needs ../shared/data"
bash scripts/setup.sh >/dev/null
bash scripts/install.sh --release
bash scripts/cluster.sh start
dir=/tmp/c360_bench; mkdir -p "$dir"; chown "$C360_PGUSER" "$dir"
gunzip -c "$src" > "$dir/online_retail.csv"; chmod 644 "$dir/online_retail.csv"
