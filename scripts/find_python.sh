#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter, which Rasa 3.6 needs (it does not run on 3.11+).
# Looks, in order, at $PYTHON, pyenv's 3.10.x, and python3.10 on PATH.
set -euo pipefail

is_310() { "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' 2>/dev/null; }

if [[ -n "${PYTHON:-}" ]]; then
  if is_310 "$PYTHON"; then echo "$PYTHON"; exit 0; fi
  echo "error: PYTHON=$PYTHON is not a Python 3.10 interpreter." >&2; exit 1
fi
if command -v pyenv >/dev/null 2>&1; then
  for version in 3.10.13 $(pyenv versions --bare 2>/dev/null | grep -E '^3\.10\.' | sort -rV); do
    prefix=$(pyenv prefix "$version" 2>/dev/null || true)
    if [[ -n "$prefix" ]] && is_310 "$prefix/bin/python"; then echo "$prefix/bin/python"; exit 0; fi
  done
fi
if command -v python3.10 >/dev/null 2>&1 && is_310 "$(command -v python3.10)"; then
  command -v python3.10; exit 0
fi
cat >&2 <<'MSG'
error: Python 3.10 was not found.
Rasa Open Source 3.6 needs Python 3.10 (3.11 and newer are not supported). Install it with one of:
  pyenv install 3.10.13                 (pyenv)
  sudo apt install python3.10-venv      (Debian/Ubuntu with a 3.10 package)
or point PYTHON at an interpreter:  make PYTHON=/path/to/python3.10 run
MSG
exit 1
