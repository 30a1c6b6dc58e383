# authd: authentication and authorization daemon.
# Plain make: `make` builds, `make run` serves on 127.0.0.1:8000,
# `make test` runs the whole suite from scratch.

PREFIX ?=	/usr/local
DESTDIR ?=
BINDIR =	$(PREFIX)/sbin
# authd and the programs of its children, which it finds beside itself;
# $(BINDIR)/authd is a symbolic link to it.
LIBEXECDIR =	$(PREFIX)/libexec/authd
MANDIR =	$(PREFIX)/share/man
SHAREDIR =	$(PREFIX)/share/authd
SYSCONFDIR ?=	/etc

CC ?=		cc
PKGS =		libevent libpq hiredis jansson libssl libcrypto libbsd-overlay \
		libjwt libcurl libsodium libcrypt
WARNINGS =	-Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes \
		-Wshadow -Wpointer-arith -Wcast-qual
CFLAGS ?=	-O2 -g
CFLAGS +=	-std=c11 $(WARNINGS)
CPPFLAGS +=	-D_GNU_SOURCE -Ilibauth -Iauthd -DAUTHD_SQLDIR=\"$(SHAREDIR)/sql\" \
		$(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS +=	$(shell pkg-config --libs $(PKGS) 2>/dev/null)
# Each of authd's programs links the libraries of its role only (see
# authd/proc.c): the keyholder and the parent no database, Redis or HTTP
# client, the parent no OpenSSL either (authd/keyload.c).  A program that
# needs more fails to link.
PKGS_parent =	libevent_core libbsd-overlay libsodium
PKGS_keyholder = libevent_core jansson libcrypto libbsd-overlay libjwt \
		libcrypt
PKGS_worker =	libevent libpq hiredis jansson libcrypto libbsd-overlay libjwt \
		libcurl libsodium
pkglibs =	$(shell pkg-config --libs $(1) 2>/dev/null)
# The programs that hash passwords in one argon2 working area kept
# between hashes (libauth/hashmem.c): libsodium's archive linked in, so
# that its mmap(2) and munmap(2) calls can be wrapped.
HASHMEM_LIBS =	-Wl,--wrap=mmap -Wl,--wrap=munmap -l:libsodium.a

ifeq ($(ASAN),1)
CFLAGS +=	-O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
		-fno-sanitize-recover=undefined
LDFLAGS +=	-fsanitize=address,undefined
endif

LIBAUTH_SRCS =	$(sort $(wildcard libauth/*.c) libauth/parse.c)
LIBAUTH_OBJS =	$(LIBAUTH_SRCS:.c=.o)
AUTHD_OBJS =	$(patsubst %.c,%.o,$(wildcard authd/*.c))
# The objects with a main(): one program each; the rest is an archive
# from which each program takes what it calls.
AUTHD_MAINS =	authd/authd.o authd/keyholder.o authd/worker.o
AUTHD_PROGS =	authd/authd authd/authd-keyholder authd/authd-worker
LIBFLOOR_PROGS = regress/bench/libfloor-parent \
		regress/bench/libfloor-keyholder regress/bench/libfloor-worker
AUTHCTL_OBJS =	$(patsubst %.c,%.o,$(wildcard authctl/*.c))
UNIT_SRCS =	$(wildcard regress/unit/t_*.c)
UNIT_PROGS =	$(UNIT_SRCS:.c=)
HEADERS =	$(wildcard libauth/*.h authd/*.h authctl/*.h)

.PHONY: all deps test run install uninstall clean lint bench soak fuzz

all: deps $(AUTHD_PROGS) authctl/authctl $(UNIT_PROGS) regress/bench/hashbench \
	regress/bench/evhttp_bare $(LIBFLOOR_PROGS)

deps:
	@sh etc/dev/deps.sh

libauth/parse.c: libauth/parse.y
	bison -o $@ $<

libauth/parse.o: libauth/parse.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-unused-but-set-variable -c -o $@ $<

%.o: %.c $(HEADERS)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

libauth/libauth.a: $(LIBAUTH_OBJS)
	rm -f $@
	ar rcs $@ $(LIBAUTH_OBJS)

authd/libauthd.a: $(filter-out $(AUTHD_MAINS),$(AUTHD_OBJS))
	rm -f $@
	ar rcs $@ $^

authd/authd: authd/authd.o authd/libauthd.a libauth/libauth.a
	$(CC) $(LDFLAGS) -o $@ $^ $(call pkglibs,$(PKGS_parent))

authd/authd-keyholder: authd/keyholder.o authd/libauthd.a libauth/libauth.a
	$(CC) $(LDFLAGS) -o $@ $^ $(call pkglibs,$(PKGS_keyholder)) \
	    $(HASHMEM_LIBS)

authd/authd-worker: authd/worker.o authd/libauthd.a libauth/libauth.a
	$(CC) $(LDFLAGS) -o $@ $^ $(call pkglibs,$(PKGS_worker))

authctl/authctl: $(AUTHCTL_OBJS) libauth/libauth.a
	$(CC) $(LDFLAGS) -o $@ $(AUTHCTL_OBJS) libauth/libauth.a $(LDLIBS)

regress/unit/t_%: regress/unit/t_%.c libauth/libauth.a $(HEADERS)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< libauth/libauth.a \
	    $(LDLIBS) -latf-c

regress/unit/t_hashmem: regress/unit/t_hashmem.c libauth/libauth.a $(HEADERS)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< libauth/libauth.a \
	    $(call pkglibs,libbsd-overlay libcrypt) $(HASHMEM_LIBS) -latf-c

# The password hash as the keyholders compute it.
regress/bench/hashbench: regress/bench/hashbench.c libauth/libauth.a
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< libauth/libauth.a \
	    $(call pkglibs,libbsd-overlay libcrypt) $(HASHMEM_LIBS)

# The HTTP ceiling of `make bench`: a bare evhttp server.
regress/bench/evhttp_bare: regress/bench/evhttp_bare.c
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LDLIBS)

# The memory floor of `make bench`: the libraries of each of authd's
# programs loaded, nothing run.  --no-as-needed: it calls none of them,
# and must load them all.
regress/bench/libfloor-%: regress/bench/libfloor.c
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< -Wl,--no-as-needed \
	    $(call pkglibs,$(PKGS_$*))

test: all
	@sh regress/run.sh $(TESTS)

run: all
	@sh etc/dev/run.sh

bench: all
	@sh regress/bench/bench.sh

# A mixed load for SOAK_SECONDS (600); fails on memory or descriptor
# growth of any authd process, on errors and on restarted processes.
soak: all
	@sh regress/bench/soak.sh

lint: all
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
	    --inline-suppr -Ilibauth -Iauthd -I/usr/include/bsd \
	    -DLIBBSD_OVERLAY -D__unused= --suppress=missingIncludeSystem \
	    -i libauth/parse.c libauth authd authctl
	mandoc -Tlint -Wwarning man/*.[0-9]

# The SQL directory is compiled into authctl: db.o depends on a stamp
# named after it, so that it is rebuilt when PREFIX differs from the one
# it was built with (and `make -q` still works).
SQLDIR_STAMP =	build/sqldir$(subst /,_,$(SHAREDIR))

$(SQLDIR_STAMP):
	@mkdir -p build
	@rm -f build/sqldir_*
	@touch $@

authctl/db.o: $(SQLDIR_STAMP)

# install: the programs, the pages, the SQL files, the example
# configuration and the systemd unit under DESTDIR$(PREFIX); the key
# directory (0700) under DESTDIR$(SYSCONFDIR).  As root without DESTDIR,
# also the system user the daemon's children run as.
AUTHD_USER ?=	_authd
UNITDIR ?=	$(PREFIX)/lib/systemd/system
MAN5 =		$(wildcard man/*.5)
MAN7 =		$(wildcard man/*.7)
MAN8 =		$(wildcard man/*.8)

install: $(AUTHD_PROGS) authctl/authctl
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) \
	    $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(SHAREDIR)/sql $(DESTDIR)$(SHAREDIR)/examples \
	    $(DESTDIR)$(UNITDIR)
	install -m 0755 $(AUTHD_PROGS) $(DESTDIR)$(LIBEXECDIR)
	ln -sf ../libexec/authd/authd $(DESTDIR)$(BINDIR)/authd
	install -m 0755 authctl/authctl $(DESTDIR)$(BINDIR)
	install -m 0644 $(MAN5) $(DESTDIR)$(MANDIR)/man5
	$(if $(MAN7),install -m 0644 $(MAN7) $(DESTDIR)$(MANDIR)/man7)
	install -m 0644 $(MAN8) $(DESTDIR)$(MANDIR)/man8
	install -m 0644 sql/*.sql $(DESTDIR)$(SHAREDIR)/sql
	install -m 0644 etc/authd.conf $(DESTDIR)$(SHAREDIR)/examples
	install -m 0644 etc/common-passwords.txt $(DESTDIR)$(SHAREDIR)
	sed 's|/usr/local/sbin/|$(BINDIR)/|g' etc/authd.service \
	    >$(DESTDIR)$(UNITDIR)/authd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/authd.service
	install -d -m 0700 $(DESTDIR)$(SYSCONFDIR)/authd/keys
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" -eq 0 ] && \
	    ! getent passwd $(AUTHD_USER) >/dev/null; then \
		echo "useradd -r -M -s /usr/sbin/nologin $(AUTHD_USER)"; \
		useradd -r -M -d /nonexistent -s /usr/sbin/nologin \
		    $(AUTHD_USER); \
	fi

# The key directory and the user stay: they hold what cannot be made
# again (the signing keys) or may own files elsewhere.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/authd $(DESTDIR)$(BINDIR)/authctl
	rm -rf $(DESTDIR)$(LIBEXECDIR)
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(MAN5))) \
	    $(addprefix $(DESTDIR)$(MANDIR)/man7/,$(notdir $(MAN7))) \
	    $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(MAN8)))
	rm -f $(DESTDIR)$(UNITDIR)/authd.service
	rm -rf $(DESTDIR)$(SHAREDIR)

clean:
	rm -f libauth/*.o libauth/libauth.a libauth/parse.c authd/*.o \
	    authd/libauthd.a $(AUTHD_PROGS) authctl/*.o authctl/authctl \
	    $(UNIT_PROGS) regress/bench/hashbench regress/bench/evhttp_bare \
	    $(LIBFLOOR_PROGS)
	rm -rf regress/unit/*.dSYM

# --- Fuzzing (regress/fuzz) -------------------------------------------
# libFuzzer harnesses built with clang against the real sources; each
# runs FUZZ_SECONDS on its seed corpus (regress/fuzz/corpus/<target>,
# read only: new inputs go to regress/fuzz/work/).  Inputs saved in
# regress/fuzz/crashes/ are replayed first, as regressions.  `make
# fuzz-ci` is the short run of CI.
FUZZ_CC ?=	clang-14
FUZZ_SECONDS ?=	60
FUZZ_CFLAGS =	-g -O1 -std=c11 $(WARNINGS) -fno-omit-frame-pointer \
		-fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_TARGETS =	ipc config token json_body totp_seal
FUZZ_PROGS =	$(FUZZ_TARGETS:%=regress/fuzz/fuzz_%)
FUZZ_OBJS =	$(LIBAUTH_SRCS:libauth/%.c=regress/fuzz/obj/%.o)
FUZZ_EXTRA_json_body =	regress/fuzz/obj/validate.o

regress/fuzz/obj/%.o: libauth/%.c $(HEADERS)
	@mkdir -p regress/fuzz/obj
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link \
	    -Wno-unused-but-set-variable -c -o $@ $<

regress/fuzz/obj/validate.o: authd/validate.c $(HEADERS)
	@mkdir -p regress/fuzz/obj
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link \
	    -c -o $@ authd/validate.c

regress/fuzz/obj/libauth.a: $(FUZZ_OBJS)
	rm -f $@
	ar rcs $@ $(FUZZ_OBJS)

regress/fuzz/fuzz_%: regress/fuzz/fuzz_%.c regress/fuzz/obj/libauth.a \
    $(HEADERS)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
	    $(FUZZ_EXTRA_$*) regress/fuzz/obj/libauth.a $(LDLIBS)

regress/fuzz/fuzz_json_body: regress/fuzz/obj/validate.o

fuzz: $(FUZZ_PROGS)
	@cd regress/fuzz && mkdir -p crashes && for t in $(FUZZ_TARGETS); do \
		mkdir -p work/$$t || exit 1; \
		set -- crashes/fuzz_$$t-*; \
		if [ -e "$$1" ]; then \
			echo "fuzz_$$t: replaying $$# saved crashes"; \
			./fuzz_$$t "$$@" || exit 1; \
		fi; \
		echo "fuzz_$$t: $(FUZZ_SECONDS) s"; \
		./fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=2 \
		    -rss_limit_mb=2048 -print_final_stats=1 \
		    -artifact_prefix=crashes/fuzz_$$t- \
		    work/$$t corpus/$$t || exit 1; \
	done

fuzz-ci:
	@$(MAKE) fuzz FUZZ_SECONDS=5

fuzz-clean:
	rm -f $(FUZZ_PROGS)
	rm -rf regress/fuzz/work regress/fuzz/obj

clean: fuzz-clean

.PHONY: fuzz-ci fuzz-clean

# Prints the flags, for compiling one file by hand while others change.
flags:
	@echo "CPPFLAGS=$(CPPFLAGS)"
	@echo "CFLAGS=$(CFLAGS)"
	@echo "LDLIBS=$(LDLIBS)"

# --- API documentation (api_docs.c) -----------------------------------
# authd/openapi.json and the Swagger UI and ReDoc bundles, fetched from
# the npm registry into build/docs/ (not in git) and embedded into the
# worker by docs_data.S, so that chrooted workers read no file.  Without the
# registry the build still succeeds and /docs answers 503.
DOCS_DIR =	build/docs
DOCS_OBJ =	$(DOCS_DIR)/docs_data.o

authd/libauthd.a: $(DOCS_OBJ)

$(DOCS_DIR)/docs_data.S: authd/openapi.json etc/dev/docs-assets.sh
	@sh etc/dev/docs-assets.sh $(DOCS_DIR) authd/openapi.json

$(DOCS_OBJ): $(DOCS_DIR)/docs_data.S
	$(CC) -c -o $@ $<

# The fetched tarballs stay in build/docs/npm: a clean build does not
# download them again.
docs-clean:
	rm -rf $(DOCS_DIR)/assets $(DOCS_DIR)/docs_data.S $(DOCS_OBJ) \
	    $(DOCS_DIR)/openapi.min.json

clean: docs-clean

.PHONY: docs-clean
