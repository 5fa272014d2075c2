/* policy.h - the policy model: settings that inherit global -> domain -> user, the locality of
 * domains and addresses, local groups, and ordered rules of conditions and action chains.
 * Owner: src/policy. The file format is docs/policy.md; parse.c reads it with libconfig.
 * Everything here is pure data: no crypto, no I/O. Evaluation is in eval.h. */
#ifndef SG_POLICY_H
#define SG_POLICY_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

/* Bounds on what one policy may hold, so a hostile or broken file cannot exhaust memory. */
#define SG_POLICY_MAX_RULES 1000
#define SG_POLICY_MAX_ACTIONS 32
#define SG_POLICY_MAX_LIST 1000
#define SG_POLICY_MAX_TEXT (1u << 20) /* rules file size */

enum sg_locality { SG_LOC_EXTERNAL = 0, SG_LOC_INTERNAL };

/* Direction of one sender -> recipient pair, from their localities. */
enum sg_direction_p {
    SG_PDIR_OUTGOING = 0, /* internal sender, external recipient */
    SG_PDIR_INCOMING,     /* external sender, internal recipient */
    SG_PDIR_INTERNAL,     /* internal to internal */
    SG_PDIR_EXTERNAL,     /* external to external (relayed; normally refused by smtpd) */
    SG_PDIR__COUNT
};

enum sg_fallback { SG_FB_HOLD = 0, SG_FB_RETURN, SG_FB_PLAIN };
enum sg_mixed { SG_MIXED_RESTRICTIVE = 0, SG_MIXED_LIBERAL };
enum sg_psign { SG_PSIGN_SENDER = 1, SG_PSIGN_DOMAIN = 2 }; /* = enum sg_sign_mode of engine.h */

/* Subject keywords and commands (docs/policy.md "keywords"). */
enum sg_keyword {
    SG_KW_ENCRYPT = 0,
    SG_KW_SIGN,
    SG_KW_SEND_KEYS,
    SG_KW_SEND_KEYS_PGP,
    SG_KW_SEND_KEYS_SMIME,
    SG_KW_PDF, /* "[pdf]": a rule may send this message as a PDF (docs/pdf.md) */
    SG_KW__COUNT
};

/* Settings one level (global, a domain, a user) may set; unset fields inherit. */
typedef struct sg_psettings {
    int locality;      /* enum sg_locality, -1 unset */
    int methods[4];    /* encryption preference (enum sg_method), 0-terminated; [0] = 0 unset */
    int sign;          /* enum sg_psign, 0 unset */
    int create_keys;   /* 1/0, -1 unset: make a key for an internal sender who has none */
    int fallback;      /* enum sg_fallback, -1 unset */
    int mixed;         /* enum sg_mixed, -1 unset */
    int notify_sender; /* 1/0, -1 unset: tell the sender what was held or returned */
} sg_psettings;

/* A domain or user entry: its pattern and what it overrides. */
typedef struct sg_pentry {
    char *pattern; /* domain ("example.org", "*.example.org") or address */
    sg_psettings s;
    int line;
} sg_pentry;

typedef struct sg_pgroup {
    char *name;
    char **members; /* address patterns (glob; "@domain" or a bare domain = every address in it) */
    size_t n;
    int line;
    /* source = "store": the members are the store's group of this name (internal users and
     * their aliases, managed with group.* operations), filled in by sg_policy_fill_store_groups
     * (ugroups.c) whenever the policy is loaded; the file names none. */
    bool from_store;
} sg_pgroup;

/* A list of glob patterns (case-insensitive). */
typedef struct sg_plist {
    char **v;
    size_t n;
} sg_plist;

/* One header condition: a field name and an extended regular expression on its value. */
typedef struct sg_phdr {
    char *name;
    char *re_text;
    regex_t re;
} sg_phdr;

enum sg_keycond { SG_KC_ANY = 1, SG_KC_NONE = 2, SG_KC_SMIME = 4, SG_KC_PGP = 8 };

/* Conditions of a rule: every condition given must hold; a list holds when any element does.
 * Unset conditions (n == 0, -1, 0 masks) always hold. */
typedef struct sg_pcond {
    unsigned directions; /* bit mask of 1 << enum sg_direction_p; 0 = any */
    sg_plist from, to;   /* address or domain patterns */
    sg_plist from_group, to_group;
    bool has_subject;
    char *subject_text;
    regex_t subject;
    sg_phdr *headers;
    size_t nheaders;
    unsigned keywords;            /* bit mask of 1 << enum sg_keyword: any present in the Subject */
    long long size_min, size_max; /* -1 unset; bytes */
    sg_plist attachment_name, attachment_type;
    sg_plist priority, importance, sensitivity; /* values, case-insensitive globs */
    int encrypted, is_signed;                   /* 1/0, -1 unset */
    unsigned rcpt_key, sender_key;              /* enum sg_keycond masks, 0 = any */
    /* The scanning stage's verdict (docs/scanning.md): these hold only once it ran, so a rule
     * that tests them decides at the scanning stage, never before. */
    int virus;              /* 1/0, -1 unset: clamd found a virus */
    bool has_spam_score;    /* spam_score given: rspamd's score is at least spam_score */
    double spam_score;
    unsigned scan;          /* mask of 1 << (enum sg_av_verdict - 1): the AV verdict; 0 = any */
    /* Content rules, also decided at the scanning stage (policy/content.h). */
    void **text;            /* PCRE2 patterns over the decoded text parts (any matches) */
    size_t ntext;
    sg_plist attachment_magic; /* type patterns over the types libmagic detects in attachments */
    int type_mismatch;         /* 1/0, -1 unset: an attachment's name claims another type */
    sg_plist archive_member;   /* name patterns over archive members, at any nesting level */
} sg_pcond;

enum sg_paction_kind {
    SG_ACT_DELIVER = 1,
    SG_ACT_ENCRYPT,       /* methods[] (0 = from the settings) */
    SG_ACT_SIGN,          /* sign mode (0 = from the settings) */
    SG_ACT_DECRYPT,       /* decrypt, verify and stamp; notify: whom to tell when it cannot */
    SG_ACT_ADD_HEADER,    /* arg: "Name: value" */
    SG_ACT_REMOVE_HEADER, /* arg: field name */
    SG_ACT_STRIP_KEYWORD, /* remove every configured keyword and command from the Subject */
    SG_ACT_CREATE_KEY,    /* create a key/certificate for an internal sender who has none */
    SG_ACT_ATTACH_KEYS,   /* methods[]: the sender's keys to attach (0 = all) */
    SG_ACT_ARCHIVE,       /* arg: archive address; a copy of the message as it is at this point */
    SG_ACT_NOTIFY_SENDER, /* arg: text (may be NULL) */
    SG_ACT_ALERT_ADMIN,   /* arg: text (may be NULL) */
    SG_ACT_HOLD,          /* arg: reason */
    SG_ACT_RETURN,        /* arg: reason */
    SG_ACT_DELETE,        /* arg: reason; the sender gets a notice */
    SG_ACT__COUNT
};

typedef struct sg_paction {
    int kind; /* enum sg_paction_kind */
    char *arg;
    int methods[4];  /* 0-terminated */
    int sign;        /* enum sg_psign or 0 */
    unsigned notify; /* decrypt: SG_PNOTIFY_* told when it cannot be decrypted; SG_PHOLD_* held */
    int line;
} sg_paction;

#define SG_PNOTIFY_SENDER 1u
#define SG_PNOTIFY_RECIPIENT 2u
#define SG_PNOTIFY_WHO (SG_PNOTIFY_SENDER | SG_PNOTIFY_RECIPIENT)
/* decrypt: hold (for the administrator) mail with ciphertext among other parts, or whose
 * decrypted content has no protected headers (docs/policy.md). */
#define SG_PHOLD_EMBEDDED 4u
#define SG_PHOLD_UNPROTECTED 8u

typedef struct sg_prule {
    char *name;
    int line;
    sg_pcond c;
    sg_paction *act;
    size_t nact;
    int fallback; /* enum sg_fallback, -1: from the settings */
    int mixed;    /* enum sg_mixed, -1: from the settings */
    bool cont;    /* evaluation continues with the next rule after this one matched */
} sg_prule;

typedef struct sg_policy {
    sg_psettings global;
    sg_pentry *domains;
    size_t ndomains;
    sg_pentry *users;
    size_t nusers;
    sg_pgroup *groups;
    size_t ngroups;
    sg_plist internal; /* internal domains (the configuration's internal_domains, plus the file's) */
    char *keywords[SG_KW__COUNT];
    char *admin;       /* where alert_admin goes; NULL: postmaster of the first internal domain */
    char *domain_addr; /* the gateway's own signing identity (set by the caller, may be NULL) */
    sg_prule *rules;
    size_t nrules;
} sg_policy;

/* Parses a policy file's text. internal_domains (may be NULL/0) are the configuration's, the
 * starting point of locality. Returns the policy, or NULL with "name:line: message" in err
 * (name is how the text is called in messages, e.g. its file name). */
sg_policy *sg_policy_parse(const char *text, const char *name, const char *const *internal_domains,
                           size_t ninternal, char *err, size_t errlen);
void sg_policy_free(sg_policy *p);

/* The embedded default policy (docs/policy.md "The default policy"). */
extern const char sg_policy_default_text[];

/* The rule tests what the scanning stage finds (virus, spam_score, scan, and the content
 * conditions text, attachment_magic, type_mismatch, archive_member). */
bool sg_prule_scans(const sg_prule *r);

/* Case-insensitive glob (* and ?) of a whole string. */
bool sg_policy_glob(const char *pattern, const char *s);
/* An address matches a pattern: "user@domain" globs the whole address; "@domain" or a bare
 * "domain" globs the domain ("*.example.org" also matches example.org's subdomains only). */
bool sg_policy_addr_match(const char *pattern, const char *addr);
/* The domain of an address (after the last '@'), "" when none. */
const char *sg_policy_domain(const char *addr);

/* The effective settings for an address: global, then the most specific domain entry, then the
 * user entry; every field set. */
void sg_policy_settings_for(const sg_policy *p, const char *addr, sg_psettings *out);
/* Locality of an address ("" -- the null sender -- is external). */
int sg_policy_locality(const sg_policy *p, const char *addr);
int sg_policy_direction(const sg_policy *p, const char *sender, const char *rcpt);
bool sg_policy_in_group(const sg_policy *p, const char *group, const char *addr);

/* Names as the file spells them. */
const char *sg_policy_direction_name(int d);
const char *sg_policy_action_name(int kind);
const char *sg_policy_fallback_name(int f);
const char *sg_policy_keyword_name(int k);

#endif
