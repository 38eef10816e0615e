#!/usr/bin/env bash
# scripts/python-env.sh VENV REQUIREMENTS -- make the virtual environment and
# install pinned requirements into it. On a fresh Debian machine `python3 -m venv`
# needs the python3-venv package, which this installs (as root) when missing.
set -euo pipefail
venv=$1
requirements=$2

if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
	if [[ $(id -u) -ne 0 ]]; then
		echo "python3-venv is missing: install it (apt-get install python3-venv) or run as root" >&2
		exit 1
	fi
	echo "[python-env] installing python3-venv"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q python3-venv >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q python3-venv; }
fi
if [[ ! -x $venv/bin/python ]]; then
	echo "[python-env] creating $venv"
	python3 -m venv "$venv"
fi
stamp=$venv/.installed-$(basename "$requirements")
if [[ ! -f $stamp || $requirements -nt $stamp || requirements.txt -nt $stamp ]]; then
	echo "[python-env] installing $requirements"
	"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
	touch "$stamp"
fi
