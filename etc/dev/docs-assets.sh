#!/bin/sh
# docs-assets.sh OUTDIR OPENAPI: the build step of the API documentation.
#
# Fetches the pinned Swagger UI and ReDoc packages from the npm registry
# (npm pack: the published tarball only, no install scripts run), checks
# them against the integrity pinned here, extracts the few files the
# /docs and /redoc pages load, minifies the OpenAPI document, and writes
# OUTDIR/docs_data.S, which embeds all of it into authd with .incbin:
# workers may be chrooted, so they read no file at run time.
#
# Without npm or network the build goes on: the assets are embedded
# empty, /docs and /redoc answer 503, and docs_data.S is dated in the
# past so that the next make tries the registry again.  An invalid
# OpenAPI document fails the build.  OUTDIR (build/docs) is not in git;
# the tarballs stay in OUTDIR/npm, so a rebuild does not fetch again.

set -u

SWAGGER_PKG=swagger-ui-dist
SWAGGER_VERSION=5.35.0
SWAGGER_INTEGRITY=sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ==
# ReDoc 2: its standalone bundle is a classic script that renders the
# <redoc spec-url> element by itself (3.x is an ES module needing a
# script of our own to start it).
REDOC_PKG=redoc
REDOC_VERSION=2.5.4
REDOC_INTEGRITY=sha512-M6jWhG1qoBnH6TFmzJnstyCZ87HmOY/UzDm78mHiYihEdlV/YcS9ogOo1NlElnJMeLsyxHFe2yFc4sNjHTrABQ==

if [ $# -ne 2 ]; then
	echo "usage: docs-assets.sh outdir openapi.json" >&2
	exit 2
fi
out=$1
spec=$2

warn()
{
	echo "docs-assets.sh: $*" >&2
}

mkdir -p "$out/npm" || exit 1
# .incbin wants absolute paths: the assembler runs from anywhere.
case "$out" in
/*)	abs=$out ;;
*)	abs=$(pwd)/$out ;;
esac
case "$abs" in
*\"*|*\\*)
	warn "$abs: a path with a quote or backslash cannot be embedded"
	exit 1 ;;
esac

# The document: valid JSON, an OpenAPI 3.1 object, minified.
python3 - "$spec" "$out/openapi.min.json" <<'EOF' || exit 1
import json, sys
try:
    with open(sys.argv[1], encoding="utf-8") as f:
        doc = json.load(f)
except (OSError, ValueError) as e:
    sys.exit("docs-assets.sh: %s: %s" % (sys.argv[1], e))
if not isinstance(doc, dict) or not str(doc.get("openapi", "")).startswith(
        "3.1") or not isinstance(doc.get("paths"), dict):
    sys.exit("docs-assets.sh: %s: not an OpenAPI 3.1 document" % sys.argv[1])
with open(sys.argv[2] + ".tmp", "w", encoding="utf-8") as f:
    json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))
EOF
mv "$out/openapi.min.json.tmp" "$out/openapi.min.json" || exit 1

# integrity FILE: the file's npm integrity string (sha512-<base64>).
integrity()
{
	printf 'sha512-%s' "$(openssl dgst -sha512 -binary "$1" | base64 -w 0)"
}

# fetch PACKAGE VERSION INTEGRITY: OUTDIR/npm/PACKAGE-VERSION.tgz, checked;
# fails when it cannot be had or does not match.
fetch()
{
	local tgz
	tgz="$out/npm/$1-$2.tgz"
	if [ -f "$tgz" ] && [ "$(integrity "$tgz")" = "$3" ]; then
		return 0
	fi
	rm -f "$tgz"
	if ! command -v npm >/dev/null 2>&1; then
		warn "npm not found: cannot fetch $1@$2"
		return 1
	fi
	# Short timeouts: offline, the build should not hang on retries.
	if ! npm pack "$1@$2" --pack-destination "$out/npm" --silent \
	    --fetch-retries=1 --fetch-timeout=30000 --ignore-scripts \
	    >/dev/null 2>"$out/npm/$1.err"; then
		warn "npm pack $1@$2 failed: $(tail -n 3 "$out/npm/$1.err")"
		rm -f "$tgz"
		return 1
	fi
	if [ ! -f "$tgz" ] || [ "$(integrity "$tgz")" != "$3" ]; then
		warn "$tgz: integrity mismatch, expected $3"
		rm -f "$tgz"
		return 1
	fi
	rm -f "$out/npm/$1.err"
}

# extract PACKAGE VERSION MEMBER...: the members (paths inside the
# package) into $new under their base names.
extract()
{
	local tgz x m
	tgz="$out/npm/$1-$2.tgz"
	shift 2
	x=$(mktemp -d "$out/extract.XXXXXX") || return 1
	for m in "$@"; do
		if ! tar -xzf "$tgz" -C "$x" "package/$m" ||
		    ! mv "$x/package/$m" "$new/$(basename "$m")"; then
			rm -rf "$x"
			return 1
		fi
	done
	rm -rf "$x"
}

# Built aside and renamed: a make running at the same time in the same
# tree never sees half a directory.
new=$(mktemp -d "$out/assets.XXXXXX") || exit 1
have=1
if fetch "$SWAGGER_PKG" "$SWAGGER_VERSION" "$SWAGGER_INTEGRITY" &&
    extract "$SWAGGER_PKG" "$SWAGGER_VERSION" swagger-ui-bundle.js \
    swagger-ui.css favicon-32x32.png; then
	:
else
	have=0
fi
if fetch "$REDOC_PKG" "$REDOC_VERSION" "$REDOC_INTEGRITY" &&
    extract "$REDOC_PKG" "$REDOC_VERSION" bundles/redoc.standalone.js; then
	:
else
	have=0
fi
if [ "$have" -eq 0 ]; then
	rm -f "$new/"*
	warn "documentation assets missing: /docs and /redoc will answer 503"
fi
chmod 0755 "$new"
rm -rf "$out/assets"
mv "$new" "$out/assets" || exit 1

# blob SYMBOL FILE: a read-only byte array SYMBOL and its length
# SYMBOL_len (uint32_t); an empty array when OUTDIR/FILE is absent.
blob()
{
	echo "	.section .rodata"
	echo "	.balign 16"
	echo "	.globl $1"
	echo "	.type $1, %object"
	echo "$1:"
	if [ -f "$out/$2" ]; then
		echo "	.incbin \"$abs/$2\""
	fi
	echo ".L$1_end:"
	echo "	.byte 0"
	echo "	.size $1, . - $1"
	echo "	.balign 4"
	echo "	.globl $1_len"
	echo "	.type $1_len, %object"
	echo "$1_len:"
	echo "	.4byte .L$1_end - $1"
	echo "	.size $1_len, 4"
	echo
}

tmp="$out/docs_data.S.tmp"
{
	echo "/* Written by etc/dev/docs-assets.sh; do not edit. */"
	echo
	blob api_docs_openapi_data openapi.min.json
	blob api_docs_swagger_js_data assets/swagger-ui-bundle.js
	blob api_docs_swagger_css_data assets/swagger-ui.css
	blob api_docs_favicon_data assets/favicon-32x32.png
	blob api_docs_redoc_js_data assets/redoc.standalone.js
	echo "	.section .note.GNU-stack,\"\",%progbits"
} >"$tmp" && mv "$tmp" "$out/docs_data.S" || exit 1
if [ "$have" -eq 0 ]; then
	# Older than its prerequisites: the next make runs this again.
	touch -t 200001010000 "$out/docs_data.S"
fi
exit 0
