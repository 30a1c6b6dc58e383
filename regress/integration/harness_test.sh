#! /usr/bin/env atf-sh
# The test harness itself: mistakes in a test file that make it pass
# while leaving something behind.

. "$(atf_get_srcdir)/../lib.sh"

atf_test_case cleanups_declared
cleanups_declared_head()
{
	atf_set descr "a test case with a NAME_cleanup function is declared" \
	    "with 'cleanup': otherwise kyua never runs it, and the case's" \
	    "daemon stays up to work the queues of the cases after it"
}
cleanups_declared_body()
{
	local f
	for f in "$(atf_get_srcdir)"/*_test.sh; do
		awk -v file="${f##*/}" '
		/^atf_test_case [a-z0-9_]+$/ { plain[$2] = 1 }
		/^[a-z0-9_]+_cleanup\(\)$/ {
			name = $1
			sub(/_cleanup\(\)$/, "", name)
			defined[name] = 1
		}
		END {
			for (c in plain)
				if (c in defined)
					print file ": " c
		}' "$f"
	done >undeclared
	[ ! -s undeclared ] || atf_fail "$(oneline "cleanup not declared:" \
	    "$(cat undeclared)")"
}

atf_init_test_cases()
{
	atf_add_test_case cleanups_declared
}
