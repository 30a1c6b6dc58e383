/*
 * The password policy.  Every rule is checked, so that a client learns
 * every reason at once (API.md: one 422 entry per failed rule).
 */
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "config.h"
#include "log.h"
#include "password.h"
#include "policy.h"

#define POLICY_BAD_CHAR	0xfffdU		/* for a malformed sequence */

static locale_t	 policy_locale = (locale_t)0;
static int	 policy_ready;
/*
 * The deny list: its lowercased entries one after the other in one
 * buffer, and pointers to them, sorted and unique.  Ten thousand
 * allocations of a few bytes each took three times the memory.
 */
static char	 *policy_text;
static char	**policy_deny;
static size_t	  policy_ndeny;

/*
 * Decodes the code point at *sp and advances past it.  A malformed or
 * overlong sequence counts as one character (U+FFFD), byte by byte, so
 * that counting never stops early and never reads past the NUL.
 */
static uint32_t
policy_utf8_next(const unsigned char **sp)
{
	const unsigned char	*s = *sp;
	uint32_t		 c, min;
	int			 n, i;

	if (s[0] < 0x80) {
		*sp = s + 1;
		return (s[0]);
	}
	if ((s[0] & 0xe0) == 0xc0) {
		n = 1;
		c = s[0] & 0x1f;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 2;
		c = s[0] & 0x0f;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 3;
		c = s[0] & 0x07;
		min = 0x10000;
	} else {
		*sp = s + 1;
		return (POLICY_BAD_CHAR);
	}
	for (i = 1; i <= n; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*sp = s + 1;
			return (POLICY_BAD_CHAR);
		}
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
		*sp = s + 1;
		return (POLICY_BAD_CHAR);
	}
	*sp = s + n + 1;
	return (c);
}

static size_t
policy_utf8_put(uint32_t c, char *out)
{
	if (c < 0x80) {
		out[0] = c;
		return (1);
	}
	if (c < 0x800) {
		out[0] = 0xc0 | (c >> 6);
		out[1] = 0x80 | (c & 0x3f);
		return (2);
	}
	if (c < 0x10000) {
		out[0] = 0xe0 | (c >> 12);
		out[1] = 0x80 | ((c >> 6) & 0x3f);
		out[2] = 0x80 | (c & 0x3f);
		return (3);
	}
	out[0] = 0xf0 | (c >> 18);
	out[1] = 0x80 | ((c >> 12) & 0x3f);
	out[2] = 0x80 | ((c >> 6) & 0x3f);
	out[3] = 0x80 | (c & 0x3f);
	return (4);
}

size_t
policy_utf8_len(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n = 0;

	while (*p != '\0') {
		(void)policy_utf8_next(&p);
		n++;
	}
	return (n);
}

static uint32_t
policy_tolower(uint32_t c)
{
	if (policy_locale != (locale_t)0)
		return (towlower_l(c, policy_locale));
	return (c < 0x80 ? (uint32_t)tolower((int)c) : c);
}

static int
policy_isupper(uint32_t c)
{
	if (policy_locale != (locale_t)0)
		return (iswupper_l(c, policy_locale) != 0);
	return (c >= 'A' && c <= 'Z');
}

static int
policy_islower(uint32_t c)
{
	if (policy_locale != (locale_t)0)
		return (iswlower_l(c, policy_locale) != 0);
	return (c >= 'a' && c <= 'z');
}

static int
policy_isdigit(uint32_t c)
{
	return (c >= '0' && c <= '9');
}

static int
policy_isletter(uint32_t c)
{
	if (policy_locale != (locale_t)0)
		return (iswalpha_l(c, policy_locale) != 0);
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
}

/*
 * The lowercased code points of the len bytes at s, in a new array of
 * *np elements.  NULL when out of memory.
 */
static uint32_t *
policy_lower_points(const char *s, size_t len, size_t *np)
{
	const unsigned char	*p = (const unsigned char *)s;
	const unsigned char	*end = p + len;
	uint32_t		*cp;
	size_t			 n = 0;

	if ((cp = calloc(len + 1, sizeof(*cp))) == NULL)
		return (NULL);
	/* Cuts are at ASCII bytes, so no sequence crosses end. */
	while (p < end && *p != '\0')
		cp[n++] = policy_tolower(policy_utf8_next(&p));
	*np = n;
	return (cp);
}

/* s lowercased, as a new UTF-8 string; NULL when out of memory. */
static char *
policy_lower_utf8(const char *s)
{
	uint32_t	*cp;
	char		*out;
	size_t		 n, i, o = 0;

	if ((cp = policy_lower_points(s, strlen(s), &n)) == NULL)
		return (NULL);
	if ((out = malloc(n * 4 + 1)) != NULL) {
		for (i = 0; i < n; i++)
			o += policy_utf8_put(cp[i], out + o);
		out[o] = '\0';
	}
	explicit_bzero(cp, n * sizeof(*cp));
	free(cp);
	return (out);
}

static int
policy_cmp(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

void
policy_free(void)
{
	free(policy_deny);
	free(policy_text);
	policy_deny = NULL;
	policy_text = NULL;
	policy_ndeny = 0;
	if (policy_locale != (locale_t)0)
		freelocale(policy_locale);
	policy_locale = (locale_t)0;
	policy_ready = 0;
}

size_t
policy_denylist_size(void)
{
	return (policy_ndeny);
}

/* The entries read so far, each NUL-terminated, one after the other. */
struct policy_load {
	char	*pl_text;
	size_t	 pl_len, pl_cap;
	size_t	 pl_n;
};

static int
policy_deny_add(struct policy_load *pl, const char *line)
{
	char	*e, *text;
	size_t	 len, cap;

	if ((e = policy_lower_utf8(line)) == NULL)
		return (-1);
	len = strlen(e) + 1;
	if (pl->pl_len + len > pl->pl_cap) {
		for (cap = pl->pl_cap == 0 ? 64 * 1024 : pl->pl_cap * 2;
		    cap < pl->pl_len + len; cap *= 2)
			;
		if ((text = realloc(pl->pl_text, cap)) == NULL) {
			free(e);
			return (-1);
		}
		pl->pl_text = text;
		pl->pl_cap = cap;
	}
	memcpy(pl->pl_text + pl->pl_len, e, len);
	pl->pl_len += len;
	pl->pl_n++;
	free(e);
	return (0);
}

/* The entries of pl as a sorted array without duplicates. */
static int
policy_deny_index(struct policy_load *pl)
{
	char	**list, *p;
	size_t	  i, j;

	if (pl->pl_n == 0)
		return (0);
	if ((list = reallocarray(NULL, pl->pl_n, sizeof(*list))) == NULL)
		return (-1);
	for (i = 0, p = pl->pl_text; i < pl->pl_n; i++, p += strlen(p) + 1)
		list[i] = p;
	qsort(list, pl->pl_n, sizeof(*list), policy_cmp);
	for (i = 0, j = 0; i < pl->pl_n; i++)
		if (j == 0 || strcmp(list[j - 1], list[i]) != 0)
			list[j++] = list[i];
	policy_text = pl->pl_text;
	policy_deny = list;
	policy_ndeny = j;
	pl->pl_text = NULL;
	return (0);
}

/* Reads the file into a sorted array without duplicates. */
static int
policy_deny_load(const char *path)
{
	struct policy_load	 pl;
	FILE			*fp;
	char			*line = NULL;
	size_t			 linecap = 0;
	ssize_t			 len;
	int			 rv = -1, saved;

	memset(&pl, 0, sizeof(pl));
	if ((fp = fopen(path, "r")) == NULL)
		return (-1);
	while ((len = getline(&line, &linecap, fp)) != -1) {
		while (len > 0 && (line[len - 1] == '\n' ||
		    line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0 || len > POLICY_DENY_MAXLINE ||
		    strlen(line) != (size_t)len)
			continue;
		if (policy_deny_add(&pl, line) == -1)
			goto done;
	}
	if (!ferror(fp))
		rv = policy_deny_index(&pl);
 done:
	saved = errno;
	free(pl.pl_text);
	free(line);
	fclose(fp);
	errno = saved;
	return (rv);
}

int
policy_init(const struct authd_config *conf)
{
	if (policy_ready)
		return (0);
	/* Unicode classes if the locale is there; ASCII otherwise. */
	if (policy_locale == (locale_t)0)
		policy_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8",
		    (locale_t)0);
	if (conf->c_pw_denylist[0] != '\0' &&
	    policy_deny_load(conf->c_pw_denylist) == -1)
		return (-1);
	policy_ready = 1;
	return (0);
}

int
policy_denied(const char *password)
{
	char	*key;
	void	*hit;

	if (policy_ndeny == 0)
		return (0);
	if ((key = policy_lower_utf8(password)) == NULL)
		return (0);
	hit = bsearch(&key, policy_deny, policy_ndeny, sizeof(*policy_deny),
	    policy_cmp);
	explicit_bzero(key, strlen(key));
	free(key);
	return (hit != NULL);
}

/*
 * 1 when the name (the namelen bytes at name), lowercased and at least
 * POLICY_NAME_MIN characters long, is inside the lowercased password.
 */
static int
policy_contains(const uint32_t *pw, size_t pwlen, const char *name,
    size_t namelen)
{
	uint32_t	*nm;
	size_t		 n, i;
	int		 found = 0;

	if (name == NULL || namelen == 0)
		return (0);
	if ((nm = policy_lower_points(name, namelen, &n)) == NULL)
		return (0);
	if (n >= POLICY_NAME_MIN && n <= pwlen)
		for (i = 0; i + n <= pwlen && !found; i++)
			found = memcmp(pw + i, nm, n * sizeof(*nm)) == 0;
	free(nm);
	return (found);
}

static void
policy_add(struct policy_violations *pv, const char *msg)
{
	if (pv->pv_count >= POLICY_MAX_VIOLATIONS)
		return;
	strlcpy(pv->pv_msg[pv->pv_count++], msg, POLICY_MSG_LEN);
}

size_t
policy_check(const struct authd_config *conf, const char *password,
    const char *username, const char *email, struct policy_violations *pv)
{
	const unsigned char	*p = (const unsigned char *)password;
	const char		*at;
	uint32_t		 c, *pw;
	size_t			 len = 0, pwlen;
	char			 msg[POLICY_MSG_LEN];
	int			 upper = 0, lower = 0, digit = 0;
	int			 special = 0;

	memset(pv, 0, sizeof(*pv));
	while (*p != '\0') {
		c = policy_utf8_next(&p);
		len++;
		if (policy_isupper(c))
			upper = 1;
		else if (policy_islower(c))
			lower = 1;
		else if (policy_isdigit(c))
			digit = 1;
		else if (!policy_isletter(c))
			special = 1;
	}
	if (len < (size_t)conf->c_pw_min) {
		snprintf(msg, sizeof(msg), "Password must be at least %d "
		    "characters", conf->c_pw_min);
		policy_add(pv, msg);
	}
	/* The keyholder takes at most PASSWORD_MAX bytes. */
	if (len > (size_t)conf->c_pw_max || strlen(password) > PASSWORD_MAX) {
		snprintf(msg, sizeof(msg), "Password must be at most %d "
		    "characters", conf->c_pw_max);
		policy_add(pv, msg);
	}
	if (conf->c_pw_upper && !upper)
		policy_add(pv, "Password must contain an uppercase letter");
	if (conf->c_pw_lower && !lower)
		policy_add(pv, "Password must contain a lowercase letter");
	if (conf->c_pw_digit && !digit)
		policy_add(pv, "Password must contain a digit");
	if (conf->c_pw_special && !special)
		policy_add(pv, "Password must contain a special character");

	if ((pw = policy_lower_points(password, strlen(password),
	    &pwlen)) != NULL) {
		at = email != NULL ? strrchr(email, '@') : NULL;
		if (policy_contains(pw, pwlen, username, username != NULL ?
		    strlen(username) : 0) || policy_contains(pw, pwlen, email,
		    email == NULL ? 0 : at != NULL ? (size_t)(at - email) :
		    strlen(email)))
			policy_add(pv, "Password must not contain the username "
			    "or email");
		explicit_bzero(pw, pwlen * sizeof(*pw));
		free(pw);
	}
	if (policy_denied(password))
		policy_add(pv, "Password is too common");
	return (pv->pv_count);
}
