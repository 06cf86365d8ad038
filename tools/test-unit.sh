#!/bin/bash
# Runs each Criterion unit-test binary, shows its output, and closes with one summary line.
# Under BERTH_SANITIZE=1 a LeakSanitizer report fails the run even where Criterion passed it.
set -u
passed=0 failed=0 status=0
for t in "$@"; do
	out=$("$t" --jobs 2 2>&1)
	rc=$?
	printf '%s\n' "$out"
	syn=$(printf '%s\n' "$out" | grep 'Synthesis:' | tail -n 1)
	p=$(printf '%s' "$syn" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
	f=$(printf '%s' "$syn" | sed -n 's/.*Failing: \([0-9]*\).*Crashing: \([0-9]*\).*/\1 \2/p')
	passed=$((passed + ${p:-0}))
	for n in $f; do failed=$((failed + n)); done
	if [ $rc -ne 0 ] || [ -z "$syn" ]; then
		echo "FAILED: $t (exit $rc)"
		status=1
		[ -z "$syn" ] && failed=$((failed + 1))
	fi
	if [ "${BERTH_SANITIZE:-0}" = 1 ] && printf '%s\n' "$out" | grep -q 'ERROR: LeakSanitizer'; then
		echo "FAILED: $t leaks memory (LeakSanitizer report above)"
		status=1
		failed=$((failed + 1))
	fi
done
echo "unit: $passed passed, $failed failed"
exit $status
