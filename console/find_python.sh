#!/usr/bin/env bash
# Prints a Python 3.11 (preferred) or 3.10 interpreter for the staff console's virtual environment.
# Looks at $CONSOLE_PYTHON, pyenv's 3.11.x / 3.10.x, then python3.11 / python3.10 on PATH.
set -euo pipefail

ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] in ((3, 11), (3, 10)) else 1)' 2>/dev/null; }

if [[ -n "${CONSOLE_PYTHON:-}" ]]; then
  if ok "$CONSOLE_PYTHON"; then echo "$CONSOLE_PYTHON"; exit 0; fi
  echo "error: CONSOLE_PYTHON=$CONSOLE_PYTHON is not Python 3.11 or 3.10." >&2; exit 1
fi
if command -v pyenv >/dev/null 2>&1; then
  for version in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.11\.' | sort -rV) \
                 $(pyenv versions --bare 2>/dev/null | grep -E '^3\.10\.' | sort -rV); do
    prefix=$(pyenv prefix "$version" 2>/dev/null || true)
    if [[ -n "$prefix" ]] && ok "$prefix/bin/python"; then echo "$prefix/bin/python"; exit 0; fi
  done
fi
for name in python3.11 python3.10; do
  if command -v "$name" >/dev/null 2>&1 && ok "$(command -v "$name")"; then command -v "$name"; exit 0; fi
done
echo "error: the staff console needs Python 3.11 or 3.10 (set CONSOLE_PYTHON=/path/to/python3.11)." >&2
exit 1
