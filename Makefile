# c360 - the two commands of the README, and a few helpers.
# Every target is idempotent and runs as root on a fresh Debian machine.
.PHONY: demo test setup install cluster-start cluster-stop regress unit bench

demo:            ## set up, build, install, start the local cluster, run the main job
	bash scripts/demo.sh

test:            ## set up and run every test (what CI runs)
	bash scripts/test.sh

setup:           ## install apt packages, cargo-pgrx, and register PostgreSQL 15
	bash scripts/setup.sh

install:         ## build (debug) and install the extension into the system PostgreSQL
	bash scripts/install.sh

cluster-start:
	bash scripts/cluster.sh start

cluster-stop:
	bash scripts/cluster.sh stop

regress:         ## only the SQL regression suite (cluster running, extension installed)
	bash scripts/regress.sh

unit:            ## only the pure-Rust unit and property tests (no PostgreSQL needed)
	cargo test --lib

bench:           ## c360 against plain SQL, the notebook approach and the floor scan at 1x and 10x (needs ../shared/data; not part of test)
	bash benches/compare.sh
