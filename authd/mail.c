/*
 * Outgoing mail of a worker: plain-text messages sent by SMTP through
 * libcurl's multi interface, driven by the worker's own libevent loop
 * (curl_multi_socket_action with socket and timer callbacks), so that a
 * slow or absent mail server never holds up a request.  mail_send()
 * only queues; a failed attempt is retried with a doubling delay, and a
 * message that cannot be delivered is logged and dropped.
 *
 * The relay and the sender come from the configuration (smtp url, smtp
 * from); the relay is read at each attempt, so a reload applies to the
 * retries too.  Messages hold tokens: their buffers are cleared before
 * they are freed, and no log line carries a body.
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <sodium.h>

#include "authd.h"
#include "log.h"

#define MAIL_MAX_QUEUED		256	/* messages waiting or in flight */
#define MAIL_MAX_ATTEMPTS	5
#define MAIL_RETRY_FIRST	2	/* seconds before the 2nd attempt */
#define MAIL_RETRY_MAX		300	/* the delay doubles up to this */
#define MAIL_CONNECT_TIMEOUT	10	/* seconds */
#define MAIL_TIMEOUT		60	/* seconds for one whole attempt */
#define MAIL_MAX_CONNECTIONS	4	/* to the relay, per worker */
#define MAIL_ADDR_MAX		254
#define MAIL_SUBJECT_MAX	200
#define MAIL_BODY_MAX		16384
#define MAIL_LINE_MAX		998	/* RFC 5322 2.1.1 */
#define MAIL_VAR_MAX		200	/* bytes of one substituted value */

struct mail {
	TAILQ_ENTRY(mail)	 m_entry;
	char			 m_id[33];	/* in Message-ID and the log */
	char			 m_to[MAIL_ADDR_MAX + 3];	/* <addr> */
	char			 m_from[CONFIG_STR + 2];	/* <addr> */
	char			*m_msg;		/* headers and body, CRLF */
	size_t			 m_len;
	size_t			 m_off;		/* sent by this attempt */
	int			 m_attempts;
	CURL			*m_easy;
	struct curl_slist	*m_rcpt;
	struct event		*m_retry;
	char			 m_err[CURL_ERROR_SIZE];
};

TAILQ_HEAD(mail_queue, mail);

/* A socket libcurl asked us to watch. */
struct mail_sock {
	struct event	*ms_ev;
};

static struct mail_queue	 mail_queue =
				    TAILQ_HEAD_INITIALIZER(mail_queue);
static unsigned int		 mail_count;
static struct event_base	*mail_base;
static struct event		*mail_timer;
static CURLM			*mail_multi;

static const struct mail_template_text {
	const char	*mt_subject;
	const char	*mt_body;
} mail_templates[] = {
	[MAIL_PASSWORD_RESET] = {
		"Reset your password",
		"Hello ${username},\n"
		"\n"
		"Someone asked to reset the password of your account. If it\n"
		"was you, open this link within one hour to choose a new\n"
		"password:\n"
		"\n"
		"${link}\n"
		"\n"
		"The link works once. If you did not ask for this, ignore\n"
		"this message: your password stays as it is.\n"
	},
	[MAIL_VERIFY_EMAIL] = {
		"Verify your email address",
		"Hello ${username},\n"
		"\n"
		"Please confirm that this address belongs to your account by\n"
		"opening this link within 24 hours:\n"
		"\n"
		"${link}\n"
		"\n"
		"If you did not expect this message, ignore it.\n"
	},
	[MAIL_PASSWORD_CHANGED] = {
		"Your password was changed",
		"Hello ${username},\n"
		"\n"
		"The password of your account was changed on ${time}\n"
		"from the address ${ip}. Your other sessions were signed out.\n"
		"\n"
		"If you did not do this, reset your password at once and tell\n"
		"your administrator.\n"
	},
	[MAIL_NEW_LOGIN] = {
		"New sign-in to your account",
		"Hello ${username},\n"
		"\n"
		"Your account was signed in to from a device not seen before:\n"
		"\n"
		"  When:    ${time}\n"
		"  Address: ${ip}\n"
		"  Device:  ${device}\n"
		"\n"
		"If this was you, there is nothing to do. If not, change your\n"
		"password and sign out your other sessions.\n"
	},
};

static void	 mail_start(struct mail *);

unsigned int
mail_pending(void)
{
	return (mail_count);
}

static void
mail_free(struct mail *m)
{
	TAILQ_REMOVE(&mail_queue, m, m_entry);
	mail_count--;
	if (m->m_easy != NULL) {
		curl_multi_remove_handle(mail_multi, m->m_easy);
		curl_easy_cleanup(m->m_easy);
	}
	curl_slist_free_all(m->m_rcpt);
	if (m->m_retry != NULL)
		event_free(m->m_retry);
	if (m->m_msg != NULL)
		freezero(m->m_msg, m->m_len);
	free(m);
}

/* --- libcurl on libevent --------------------------------------------- */

static void
mail_retry_cb(int fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	mail_start(arg);
}

/*
 * One attempt ended.  A 5xx answer of the relay is permanent (the
 * address or the message is refused); anything else is tried again
 * after a delay that doubles, up to MAIL_MAX_ATTEMPTS attempts.
 */
static void
mail_done(struct mail *m, CURLcode rc)
{
	struct timeval	 tv = { 0, 0 };
	long		 code = 0;
	int		 delay, i;

	if (m->m_easy != NULL) {
		curl_easy_getinfo(m->m_easy, CURLINFO_RESPONSE_CODE, &code);
		curl_multi_remove_handle(mail_multi, m->m_easy);
		curl_easy_cleanup(m->m_easy);
		m->m_easy = NULL;
	}
	curl_slist_free_all(m->m_rcpt);
	m->m_rcpt = NULL;
	if (rc == CURLE_OK) {
		log_info("mail %s to %s sent (attempt %d)", m->m_id, m->m_to,
		    m->m_attempts);
		mail_free(m);
		return;
	}
	if ((code >= 500 && code < 600) ||
	    m->m_attempts >= MAIL_MAX_ATTEMPTS) {
		log_warnx("mail %s to %s not sent after %d attempt%s: %s "
		    "(SMTP %ld)", m->m_id, m->m_to, m->m_attempts,
		    m->m_attempts == 1 ? "" : "s", m->m_err[0] != '\0' ?
		    m->m_err : curl_easy_strerror(rc), code);
		mail_free(m);
		return;
	}
	delay = MAIL_RETRY_FIRST;
	for (i = 1; i < m->m_attempts && delay < MAIL_RETRY_MAX; i++)
		delay *= 2;
	if (delay > MAIL_RETRY_MAX)
		delay = MAIL_RETRY_MAX;
	tv.tv_sec = delay;
	log_warnx("mail %s to %s: attempt %d failed: %s (SMTP %ld); "
	    "retrying in %d s", m->m_id, m->m_to, m->m_attempts,
	    m->m_err[0] != '\0' ? m->m_err : curl_easy_strerror(rc), code,
	    delay);
	if (m->m_retry == NULL && (m->m_retry = evtimer_new(mail_base,
	    mail_retry_cb, m)) == NULL) {
		log_warnx("mail %s to %s dropped: out of memory", m->m_id,
		    m->m_to);
		mail_free(m);
		return;
	}
	evtimer_add(m->m_retry, &tv);
}

/* Collects the transfers that ended. */
static void
mail_check(void)
{
	CURLMsg		*msg;
	struct mail	*m;
	char		*priv;
	int		 left;

	while ((msg = curl_multi_info_read(mail_multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		priv = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		m = (struct mail *)priv;
		mail_done(m, msg->data.result);
	}
}

static void
mail_event_cb(int fd, short events, void *arg)
{
	int	 action = 0, running;

	(void)arg;
	if (events & EV_READ)
		action |= CURL_CSELECT_IN;
	if (events & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(mail_multi, fd, action, &running);
	mail_check();
}

static void
mail_timer_cb(int fd, short events, void *arg)
{
	int	 running;

	(void)fd;
	(void)events;
	(void)arg;
	curl_multi_socket_action(mail_multi, CURL_SOCKET_TIMEOUT, 0,
	    &running);
	mail_check();
}

/* CURLMOPT_SOCKETFUNCTION: watch s for what libcurl waits for. */
static int
mail_socket_fn(CURL *easy, curl_socket_t s, int what, void *userp,
    void *socketp)
{
	struct mail_sock	*ms = socketp;
	short			 kind = EV_PERSIST;

	(void)easy;
	(void)userp;
	if (what == CURL_POLL_REMOVE) {
		if (ms != NULL) {
			if (ms->ms_ev != NULL)
				event_free(ms->ms_ev);
			free(ms);
		}
		return (0);
	}
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (ms == NULL) {
		if ((ms = calloc(1, sizeof(*ms))) == NULL)
			return (-1);
		if (curl_multi_assign(mail_multi, s, ms) != CURLM_OK) {
			free(ms);
			return (-1);
		}
	} else if (ms->ms_ev != NULL)
		event_free(ms->ms_ev);
	if ((ms->ms_ev = event_new(mail_base, s, kind, mail_event_cb,
	    NULL)) == NULL || event_add(ms->ms_ev, NULL) == -1) {
		log_warnx("mail: cannot watch a socket");
		return (-1);
	}
	return (0);
}

/* CURLMOPT_TIMERFUNCTION: one timer for the whole multi handle. */
static int
mail_timer_fn(CURLM *multi, long timeout_ms, void *userp)
{
	struct timeval	 tv;

	(void)multi;
	(void)userp;
	if (timeout_ms < 0) {
		evtimer_del(mail_timer);
		return (0);
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return (evtimer_add(mail_timer, &tv));
}

/* CURLOPT_READFUNCTION: the message, from where this attempt is. */
static size_t
mail_read_fn(char *buf, size_t size, size_t nitems, void *arg)
{
	struct mail	*m = arg;
	size_t		 n = size * nitems;

	if (n > m->m_len - m->m_off)
		n = m->m_len - m->m_off;
	memcpy(buf, m->m_msg + m->m_off, n);
	m->m_off += n;
	return (n);
}

/* Starts one attempt; a failure to start counts as a failed attempt. */
static void
mail_start(struct mail *m)
{
	const char	*url = worker_conf.c_smtp_url;
	CURL		*e;

	m->m_attempts++;
	m->m_off = 0;
	m->m_err[0] = '\0';
	if (url[0] == '\0') {
		log_warnx("mail %s to %s dropped: no smtp url configured",
		    m->m_id, m->m_to);
		mail_free(m);
		return;
	}
	if ((m->m_easy = e = curl_easy_init()) == NULL ||
	    (m->m_rcpt = curl_slist_append(NULL, m->m_to)) == NULL) {
		strlcpy(m->m_err, "out of memory", sizeof(m->m_err));
		goto fail;
	}
	if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps") !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, m->m_err) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)m) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT,
	    (long)MAIL_CONNECT_TIMEOUT) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT, (long)MAIL_TIMEOUT) !=
	    CURLE_OK ||
	    /* STARTTLS when the relay offers it; smtps:// requires TLS. */
	    curl_easy_setopt(e, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_MAIL_FROM, m->m_from) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_MAIL_RCPT, m->m_rcpt) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_READFUNCTION, mail_read_fn) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_READDATA, m) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE,
	    (curl_off_t)m->m_len) != CURLE_OK) {
		strlcpy(m->m_err, "cannot set up the transfer",
		    sizeof(m->m_err));
		goto fail;
	}
	if (curl_multi_add_handle(mail_multi, e) != CURLM_OK) {
		strlcpy(m->m_err, "cannot start the transfer",
		    sizeof(m->m_err));
		goto fail;
	}
	return;
 fail:
	mail_done(m, CURLE_FAILED_INIT);
}

/* Called once by a worker, after its privileges are dropped. */
int
mail_init(struct event_base *base)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return (-1);
	mail_base = base;
	if ((mail_multi = curl_multi_init()) == NULL ||
	    (mail_timer = evtimer_new(base, mail_timer_cb, NULL)) == NULL)
		return (-1);
	if (curl_multi_setopt(mail_multi, CURLMOPT_SOCKETFUNCTION,
	    mail_socket_fn) != CURLM_OK ||
	    curl_multi_setopt(mail_multi, CURLMOPT_TIMERFUNCTION,
	    mail_timer_fn) != CURLM_OK ||
	    curl_multi_setopt(mail_multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
	    (long)MAIL_MAX_CONNECTIONS) != CURLM_OK)
		return (-1);
	return (0);
}

/* --- messages -------------------------------------------------------- */

/*
 * An address usable both in the envelope and in a header: no white
 * space, control characters or the characters that would end or split
 * it (<>,;"), one '@' with something on each side.
 */
static int
mail_addr_ok(const char *a)
{
	const char	*at;
	size_t		 len = strlen(a);

	if (len < 3 || len > MAIL_ADDR_MAX)
		return (0);
	if (strpbrk(a, " \t\r\n<>,;\"()[]\\") != NULL)
		return (0);
	for (; *a != '\0'; a++)
		if ((unsigned char)*a < 0x20 || *a == 0x7f)
			return (0);
	a -= len;
	at = strchr(a, '@');
	return (at != NULL && at != a && at[1] != '\0' &&
	    strchr(at + 1, '@') == NULL);
}

static int
mail_ascii_printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return (0);
	return (1);
}

/* RFC 5322 date, in English whatever the locale. */
static void
mail_date(char *buf, size_t len)
{
	static const char	*days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
				    "Fri", "Sat" };
	static const char	*months[] = { "Jan", "Feb", "Mar", "Apr",
				    "May", "Jun", "Jul", "Aug", "Sep", "Oct",
				    "Nov", "Dec" };
	struct tm		 tm;
	time_t			 now = time(NULL);

	gmtime_r(&now, &tm);
	snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/*
 * Copies body to out with every line ending as CRLF and no line longer
 * than MAIL_LINE_MAX bytes.  Returns the bytes written; out must hold
 * mail_body_room(strlen(body)).
 */
static size_t
mail_body_copy(char *out, const char *body)
{
	size_t	 n = 0, col = 0;

	for (; *body != '\0'; body++) {
		if (*body == '\r')
			continue;
		if (*body == '\n' || col == MAIL_LINE_MAX) {
			out[n++] = '\r';
			out[n++] = '\n';
			col = 0;
			if (*body == '\n')
				continue;
		}
		out[n++] = *body;
		col++;
	}
	if (col > 0) {
		out[n++] = '\r';
		out[n++] = '\n';
	}
	return (n);
}

static size_t
mail_body_room(size_t len)
{
	return (len * 2 + 2 * (len / MAIL_LINE_MAX) + 2);
}

/* Builds the whole message of m: headers, a blank line, the body. */
static int
mail_build(struct mail *m, const char *to, const char *from,
    const char *subject, const char *body)
{
	char		 date[64], hdr[2048], subj[MAIL_SUBJECT_MAX * 2 + 32];
	const char	*domain;
	size_t		 blen = strlen(body), hlen, room;
	int		 n;

	if (mail_ascii_printable(subject))
		strlcpy(subj, subject, sizeof(subj));
	else {
		/* RFC 2047: one base64 encoded-word of UTF-8. */
		strlcpy(subj, "=?UTF-8?B?", sizeof(subj));
		sodium_bin2base64(subj + 10, sizeof(subj) - 12,
		    (const unsigned char *)subject, strlen(subject),
		    sodium_base64_VARIANT_ORIGINAL);
		strlcat(subj, "?=", sizeof(subj));
	}
	domain = strchr(from, '@') + 1;
	mail_date(date, sizeof(date));
	n = snprintf(hdr, sizeof(hdr),
	    "Date: %s\r\n"
	    "From: %s\r\n"
	    "To: %s\r\n"
	    "Subject: %s\r\n"
	    "Message-ID: <%s@%s>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n"
	    "Auto-Submitted: auto-generated\r\n"
	    "\r\n", date, from, to, subj, m->m_id, domain);
	if (n < 0 || (size_t)n >= sizeof(hdr))
		return (-1);
	hlen = n;
	room = hlen + mail_body_room(blen);
	if ((m->m_msg = malloc(room)) == NULL)
		return (-1);
	memcpy(m->m_msg, hdr, hlen);
	m->m_len = hlen + mail_body_copy(m->m_msg + hlen, body);
	/* m_len is what freezero clears: clear the slack now. */
	explicit_bzero(m->m_msg + m->m_len, room - m->m_len);
	return (0);
}

/*
 * Queues a plain-text message to one address and returns at once: 0
 * when it is queued, -1 (logged) when it is refused (bad address or
 * subject, no relay configured, queue full, out of memory).
 */
int
mail_send(const char *to, const char *subject, const char *body)
{
	struct mail	*m;
	const char	*from = worker_conf.c_smtp_from;
	unsigned char	 raw[16];

	if (mail_multi == NULL || worker_conf.c_smtp_url[0] == '\0') {
		log_info("mail to %s not sent: no smtp url configured",
		    mail_addr_ok(to) ? to : "(invalid address)");
		return (-1);
	}
	if (!mail_addr_ok(to) || !mail_addr_ok(from)) {
		log_warnx("mail not sent: invalid %s address",
		    mail_addr_ok(to) ? "sender" : "recipient");
		return (-1);
	}
	if (strlen(subject) > MAIL_SUBJECT_MAX || strpbrk(subject, "\r\n") !=
	    NULL || strlen(body) > MAIL_BODY_MAX) {
		log_warnx("mail to %s not sent: subject or body too long or "
		    "malformed", to);
		return (-1);
	}
	if (mail_count >= MAIL_MAX_QUEUED) {
		log_warnx("mail to %s not sent: %u messages already queued",
		    to, mail_count);
		return (-1);
	}
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		log_warn("mail to %s not sent", to);
		return (-1);
	}
	TAILQ_INSERT_TAIL(&mail_queue, m, m_entry);
	mail_count++;
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(m->m_id, sizeof(m->m_id), raw, sizeof(raw));
	snprintf(m->m_to, sizeof(m->m_to), "<%s>", to);
	snprintf(m->m_from, sizeof(m->m_from), "<%s>", from);
	if (mail_build(m, to, from, subject, body) == -1) {
		log_warnx("mail to %s not sent: cannot build it", to);
		mail_free(m);
		return (-1);
	}
	log_debug("mail %s to %s queued", m->m_id, to);
	mail_start(m);
	return (0);
}

/* --- templates ------------------------------------------------------- */

static const char *
mail_var_find(const char *name, size_t len, const struct mail_var *vars,
    size_t nvars)
{
	size_t	 i;

	for (i = 0; i < nvars; i++)
		if (strlen(vars[i].mv_name) == len &&
		    strncmp(vars[i].mv_name, name, len) == 0)
			return (vars[i].mv_value != NULL ? vars[i].mv_value :
			    "");
	return (NULL);
}

/*
 * Appends a substituted value: at most MAIL_VAR_MAX bytes, cut at a
 * character boundary, with control characters replaced, so that a
 * User-Agent or a username cannot add lines to the message.
 */
static size_t
mail_var_copy(char *out, const char *v)
{
	size_t	 n = strlen(v), i;

	if (n > MAIL_VAR_MAX) {
		n = MAIL_VAR_MAX;
		while (n > 0 && ((unsigned char)v[n] & 0xc0) == 0x80)
			n--;
	}
	for (i = 0; i < n; i++)
		out[i] = ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) ? '?' :
		    v[i];
	return (n);
}

/*
 * Expands "${name}" in text.  With out NULL only measures.  -1 when a
 * name has no value (a mistake of the caller, logged).
 */
static ssize_t
mail_expand(char *out, const char *text, const struct mail_var *vars,
    size_t nvars)
{
	const char	*p, *end, *v;
	size_t		 n = 0, len;

	for (p = text; *p != '\0'; p++) {
		if (p[0] != '$' || p[1] != '{' ||
		    (end = strchr(p + 2, '}')) == NULL) {
			if (out != NULL)
				out[n] = *p;
			n++;
			continue;
		}
		len = end - (p + 2);
		if ((v = mail_var_find(p + 2, len, vars, nvars)) == NULL) {
			log_warnx("mail template: no value for ${%.*s}",
			    (int)len, p + 2);
			return (-1);
		}
		if (out != NULL)
			n += mail_var_copy(out + n, v);
		else
			n += strlen(v) < MAIL_VAR_MAX ? strlen(v) :
			    MAIL_VAR_MAX;
		p = end;
	}
	if (out != NULL)
		out[n] = '\0';
	return (n);
}

/*
 * Queues one of the messages of enum mail_template, its ${name}s
 * replaced by the values of vars.  Same answer as mail_send().
 */
int
mail_send_template(enum mail_template t, const char *to,
    const struct mail_var *vars, size_t nvars)
{
	const struct mail_template_text	*mt;
	ssize_t				 len;
	char				*body;
	int				 r;

	if ((size_t)t >= sizeof(mail_templates) / sizeof(mail_templates[0]))
		return (-1);
	mt = &mail_templates[t];
	if ((len = mail_expand(NULL, mt->mt_body, vars, nvars)) == -1)
		return (-1);
	if ((body = malloc(len + 1)) == NULL) {
		log_warn("mail to %s not sent", to);
		return (-1);
	}
	mail_expand(body, mt->mt_body, vars, nvars);
	r = mail_send(to, mt->mt_subject, body);
	freezero(body, len + 1);
	return (r);
}
