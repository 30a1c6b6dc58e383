#!/bin/sh
# `make deps` (and every `make`): checks that the Debian packages authd
# builds, tests and runs with are installed.  As root it installs the
# missing ones; otherwise it says which to install and fails.  One
# dpkg-query call when everything is there.

set -u

PACKAGES="build-essential pkg-config bison
	libevent-dev libpq-dev libhiredis-dev libjansson-dev libssl-dev
	libbsd-dev libjwt-dev libcurl4-openssl-dev libsodium-dev libcrypt-dev
	libatf-dev atf-sh kyua
	postgresql redis-server
	mandoc cppcheck curl python3 clang libclang-rt-14-dev
	wrk oathtool faketime python3-aiosmtpd gdb
	chromium chromium-driver"

missing()
{
	# A package that dpkg does not know at all is not printed, hence
	# the comparison against the whole list.
	# shellcheck disable=SC2086
	dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' $PACKAGES \
	    2>/dev/null | awk -v want="$PACKAGES" '
	    $1 == "ii" { ok[$2] = 1 }
	    END {
		n = split(want, w, /[ \t\n]+/)
		for (i = 1; i <= n; i++)
			if (w[i] != "" && !ok[w[i]])
				print w[i]
	    }'
}

need=$(missing | tr '\n' ' ')
need=${need% }
[ -z "$need" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "authd needs these Debian packages:" >&2
	echo "	sudo apt-get install $need" >&2
	exit 1
fi

echo "installing $need"
apt-get update -q || exit 1
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends $need </dev/null || exit 1

need=$(missing | tr '\n' ' ')
if [ -n "$need" ]; then
	echo "still missing after apt-get install: $need" >&2
	exit 1
fi
