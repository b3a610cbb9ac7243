// kmer-c: a kmviz provider in C that searches the FASTA files of a folder for a query's
// canonical k-mers. Each file is one sample, named by its file stem.
//
// The exports_kmviz_plugin_provider_* types and functions come from the bindings build.sh
// writes (`wit-bindgen c`, from plugins-wit/kmviz.wit). Canonical ABI ownership: the arguments
// are ours to free, and everything returned must be heap memory, which the bindings'
// post-return functions free once the host has copied it.

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provider_plugin.h"

#define INDEX_NAME "refs"
#define DEFAULT_K 21
#define DEFAULT_MIN_RATIO 0.1

// Sets `err` to a formatted message (heap memory, as the bindings free it) and returns false.
__attribute__((format(printf, 2, 3))) static bool fail(provider_plugin_string_t *err, const char *fmt, ...) {
    char text[512];
    va_list args;
    va_start(args, fmt);
    vsnprintf(text, sizeof text, fmt, args);
    va_end(args);
    provider_plugin_string_dup(err, text);
    return false;
}

// ---- A minimal reader for the params JSON -----------------------------------------------------
// Hand-written because params is one small flat object ({"dir": "...", "k": 21}): it walks
// objects, strings and numbers and skips any other value, without validating the whole text
// (the host sends serde_json's rendering of the TOML table, which writes non-ASCII as UTF-8 and
// escapes only quotes, backslashes and control characters).

typedef struct {
    const char *p, *end;
} json_t;

static void json_ws(json_t *j) {
    while (j->p < j->end && *j->p && strchr(" \t\r\n", *j->p)) j->p++;
}

static bool json_eat(json_t *j, char c) {
    json_ws(j);
    if (j->p < j->end && *j->p == c) {
        j->p++;
        return true;
    }
    return false;
}

// A JSON string as a NUL-terminated malloc'd copy, or NULL when there is none here.
static char *json_string(json_t *j) {
    if (!json_eat(j, '"')) return NULL;
    char *out = malloc(j->end - j->p + 1);
    size_t n = 0;
    while (j->p < j->end && *j->p != '"') {
        char c = *j->p++;
        if (c == '\\' && j->p < j->end) {
            c = *j->p++;
            if (c == 'n') c = '\n';
            else if (c == 't') c = '\t';
            else if (c == 'r') c = '\r';
            else if (c == 'u') {  // only control characters come escaped (see above)
                unsigned v = 0;
                for (int i = 0; i < 4 && j->p < j->end; i++, j->p++)
                    v = v * 16 + (isdigit((unsigned char)*j->p) ? *j->p - '0' : (tolower(*j->p) - 'a' + 10));
                c = v < 128 ? (char)v : '?';
            }
        }
        out[n++] = c;
    }
    if (!json_eat(j, '"')) {
        free(out);
        return NULL;
    }
    out[n] = 0;
    return out;
}

// The raw text of a number, true, false or null, as a NUL-terminated malloc'd copy.
static char *json_scalar(json_t *j) {
    json_ws(j);
    const char *start = j->p;
    while (j->p < j->end && *j->p && !strchr(",]} \t\r\n", *j->p)) j->p++;
    if (j->p == start) return NULL;
    return strndup(start, j->p - start);
}

static bool json_skip(json_t *j);

// Calls `member(key, j, ctx)` for each member of the object at `j`; `member` reads or skips
// the value.
static bool json_object(json_t *j, bool (*member)(const char *, json_t *, void *), void *ctx) {
    if (!json_eat(j, '{')) return false;
    if (json_eat(j, '}')) return true;
    do {
        char *key = json_string(j);
        bool ok = key && json_eat(j, ':') && member(key, j, ctx);
        free(key);
        if (!ok) return false;
    } while (json_eat(j, ','));
    return json_eat(j, '}');
}

static bool skip_member(const char *key, json_t *j, void *ctx) {
    (void)key, (void)ctx;
    return json_skip(j);
}

static bool json_skip(json_t *j) {
    json_ws(j);
    if (j->p >= j->end) return false;
    if (*j->p == '"') {
        char *s = json_string(j);
        free(s);
        return s != NULL;
    }
    if (*j->p == '{') return json_object(j, skip_member, NULL);
    if (json_eat(j, '[')) {
        if (json_eat(j, ']')) return true;
        do
            if (!json_skip(j)) return false;
        while (json_eat(j, ','));
        return json_eat(j, ']');
    }
    char *s = json_scalar(j);
    free(s);
    return s != NULL;
}

// ---- Params -----------------------------------------------------------------------------------

typedef struct {
    char *dir;       // NULL when absent
    char *k_text;    // the raw value of "k", NULL when absent
    bool dir_not_string;
} params_t;

static bool params_member(const char *key, json_t *j, void *ctx) {
    params_t *p = ctx;
    if (strcmp(key, "dir") == 0) {
        json_ws(j);
        if (j->p < j->end && *j->p == '"') return (p->dir = json_string(j)) != NULL;
        p->dir_not_string = true;
        return json_skip(j);
    }
    if (strcmp(key, "k") == 0) {
        json_ws(j);
        if (j->p < j->end && *j->p == '"') {  // kept as text, so the error can quote it
            char *s = json_string(j);
            if (!s) return false;
            p->k_text = malloc(strlen(s) + 3);
            sprintf(p->k_text, "\"%s\"", s);
            free(s);
            return true;
        }
        if (j->p < j->end && (*j->p == '{' || *j->p == '[')) {
            p->k_text = strdup("an object or array");
            return json_skip(j);
        }
        return (p->k_text = json_scalar(j)) != NULL;
    }
    return json_skip(j);
}

// Reads `params` into the folder and k; on failure sets `err`.
static bool read_params(const provider_plugin_string_t *text, char **dir, unsigned *k,
                        provider_plugin_string_t *err) {
    params_t p = {0};
    json_t j = {(const char *)text->ptr, (const char *)text->ptr + text->len};
    bool ok = json_object(&j, params_member, &p);
    if (!ok)
        fail(err, "params: not a JSON object; give {\"dir\": \"/absolute/folder/of/fasta\", \"k\": 21}");
    else if (!p.dir)
        ok = fail(err, "params: %s; give {\"dir\": \"/absolute/folder/of/fasta\", \"k\": 21}",
                  p.dir_not_string ? "\"dir\" must be a text (a folder's path)"
                                   : "no \"dir\" (the folder of FASTA files)");
    else if (p.dir[0] != '/')
        ok = fail(err, "params: \"dir\" must be an absolute path, not '%s'", p.dir);
    *k = DEFAULT_K;
    if (ok && p.k_text) {
        char *end;
        double v = strtod(p.k_text, &end);
        if (*end || v != (double)(unsigned)v || v < 1 || v > 32)
            ok = fail(err, "params: \"k\" must be a whole number in 1..=32, not %s", p.k_text);
        else
            *k = (unsigned)v;
    }
    free(p.k_text);
    if (ok) *dir = p.dir;
    else free(p.dir);
    return ok;
}

// ---- Samples: the FASTA files of the folder ---------------------------------------------------

typedef struct {
    char **names;  // file names, sorted
    size_t len;
} files_t;

static void files_free(files_t *f) {
    for (size_t i = 0; i < f->len; i++) free(f->names[i]);
    free(f->names);
}

// The length of a FASTA file name's stem, or 0 when the name is not a FASTA file's.
static size_t fasta_stem(const char *name) {
    static const char *const extensions[] = {".fa", ".fasta", ".fna"};
    size_t len = strlen(name);
    for (size_t i = 0; i < sizeof extensions / sizeof *extensions; i++) {
        size_t e = strlen(extensions[i]);
        if (len > e && strcmp(name + len - e, extensions[i]) == 0) return len - e;
    }
    return 0;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// Lists the FASTA files of `dir`, sorted so samples keep one order; on failure sets `err`.
static bool list_fasta(const char *dir, files_t *f, provider_plugin_string_t *err) {
    DIR *d = opendir(dir);
    if (!d)
        return fail(err, "cannot read the folder %s: %s (it must exist and be one of the plugin's `dirs`)",
                    dir, strerror(errno));
    *f = (files_t){0};
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_type == DT_DIR || !fasta_stem(e->d_name)) continue;
        f->names = realloc(f->names, (f->len + 1) * sizeof *f->names);
        f->names[f->len++] = strdup(e->d_name);
    }
    closedir(d);
    if (f->len == 0) return fail(err, "no FASTA files (.fa, .fasta, .fna) in %s", dir);
    qsort(f->names, f->len, sizeof *f->names, by_name);
    return true;
}

// ---- Canonical k-mers -------------------------------------------------------------------------
// A k-mer (k <= 32) is packed 2 bits a letter (A=0 C=1 G=2 T=3) in a uint64; its canonical form
// is the smaller of it and its reverse complement, so a sequence and its reverse complement
// share every k-mer.

static int base_code(unsigned char c) {
    switch (c) {
        case 'A': case 'a': return 0;
        case 'C': case 'c': return 1;
        case 'G': case 'g': return 2;
        case 'T': case 't': return 3;
        default: return -1;
    }
}

// Rolls k-mers along a text fed one letter at a time; a letter other than ACGT restarts it.
typedef struct {
    unsigned k;
    uint64_t mask, forward, reverse;
    unsigned run;  // letters since the last restart
} roller_t;

static roller_t roller(unsigned k) {
    return (roller_t){.k = k, .mask = k == 32 ? UINT64_MAX : (UINT64_C(1) << (2 * k)) - 1};
}

// Feeds one letter; returns whether a whole k-mer ends here, its canonical form in `*kmer`.
static bool roll(roller_t *r, unsigned char c, uint64_t *kmer) {
    int code = base_code(c);
    if (code < 0) {
        r->run = 0;
        return false;
    }
    r->forward = ((r->forward << 2) | (uint64_t)code) & r->mask;
    r->reverse = (r->reverse >> 2) | ((uint64_t)(3 - code) << (2 * (r->k - 1)));
    if (r->run < r->k) r->run++;
    if (r->run < r->k) return false;
    *kmer = r->forward < r->reverse ? r->forward : r->reverse;
    return true;
}

// The query's distinct k-mers, in an open-addressing table. UINT64_MAX marks an empty slot: no
// canonical k-mer has that value (all-T's reverse complement, all A's, is smaller).
typedef struct {
    uint64_t *keys;
    bool *found;
    size_t mask;
} kmer_set_t;

static size_t slot_of(const kmer_set_t *s, uint64_t kmer) {
    size_t i = (size_t)((kmer * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & s->mask;
    while (s->keys[i] != kmer && s->keys[i] != UINT64_MAX) i = (i + 1) & s->mask;
    return i;
}

static kmer_set_t kmer_set(size_t capacity) {
    size_t size = 16;
    while (size < 2 * capacity) size *= 2;  // at most half full keeps probes short
    kmer_set_t s = {malloc(size * sizeof(uint64_t)), calloc(size, sizeof(bool)), size - 1};
    memset(s.keys, 0xff, size * sizeof(uint64_t));
    return s;
}

// Marks in `set` the query k-mers present in the FASTA file `path`; on failure sets `err`.
static bool scan_fasta(const char *path, unsigned k, kmer_set_t *set, provider_plugin_string_t *err) {
    FILE *file = fopen(path, "rb");
    if (!file) return fail(err, "cannot read %s: %s", path, strerror(errno));
    static unsigned char buffer[1 << 16];
    roller_t r = roller(k);
    bool line_start = true, header = false;
    size_t n;
    while ((n = fread(buffer, 1, sizeof buffer, file)) > 0) {
        for (size_t i = 0; i < n; i++) {
            unsigned char c = buffer[i];
            if (c == '\n' || c == '\r') {  // sequences continue across lines
                line_start = true;
                header = false;
                continue;
            }
            if (line_start && (c == '>' || c == ';')) {  // a new record: k-mers do not span it
                header = true;
                r.run = 0;
            }
            line_start = false;
            uint64_t kmer;
            if (!header && roll(&r, c, &kmer)) {
                size_t slot = slot_of(set, kmer);
                if (set->keys[slot] == kmer) set->found[slot] = true;
            }
        }
    }
    bool ok = !ferror(file);
    fclose(file);
    return ok || fail(err, "cannot read %s", path);
}

// ---- The provider -----------------------------------------------------------------------------

bool exports_kmviz_plugin_provider_describe(provider_plugin_string_t *params,
                                            exports_kmviz_plugin_provider_description_t *ret,
                                            provider_plugin_string_t *err) {
    char *dir = NULL;
    unsigned k;
    files_t files = {0};
    bool ok = read_params(params, &dir, &k, err) && list_fasta(dir, &files, err);
    provider_plugin_string_free(params);
    free(dir);
    if (!ok) return false;

    provider_plugin_string_dup(&ret->name, "kmer-c");

    exports_kmviz_plugin_provider_sub_index_t *index = calloc(1, sizeof *index);
    provider_plugin_string_dup(&index->name, INDEX_NAME);
    index->kmer_size = k;
    index->abundance = false;
    index->samples.ptr = calloc(files.len, sizeof *index->samples.ptr);
    index->samples.len = files.len;
    for (size_t i = 0; i < files.len; i++)
        provider_plugin_string_dup_n(&index->samples.ptr[i], files.names[i], fasta_stem(files.names[i]));
    ret->indexes.ptr = index;
    ret->indexes.len = 1;

    exports_kmviz_plugin_provider_option_spec_t *min_ratio = calloc(1, sizeof *min_ratio);
    provider_plugin_string_dup(&min_ratio->name, "min-ratio");
    provider_plugin_string_dup(&min_ratio->help, "leave out samples holding a smaller fraction of the query's k-mers");
    min_ratio->kind.tag = KMVIZ_PLUGIN_TYPES_OPTION_KIND_RANGE;
    min_ratio->kind.val.range = (kmviz_plugin_types_bounds_t){.min = 0, .max = 1, .step = 0.05};
    min_ratio->default_.tag = KMVIZ_PLUGIN_TYPES_OPTION_VALUE_NUMBER;
    min_ratio->default_.val.number = DEFAULT_MIN_RATIO;
    min_ratio->required = false;
    ret->options.ptr = min_ratio;
    ret->options.len = 1;

    files_free(&files);
    return true;
}

static double option_number(const exports_kmviz_plugin_provider_query_t *query, const char *name, double fallback) {
    size_t len = strlen(name);
    for (size_t i = 0; i < query->options.len; i++) {
        const exports_kmviz_plugin_provider_option_setting_t *o = &query->options.ptr[i];
        if (o->name.len == len && memcmp(o->name.ptr, name, len) == 0 &&
            o->value.tag == KMVIZ_PLUGIN_TYPES_OPTION_VALUE_NUMBER)
            return o->value.val.number;
    }
    return fallback;
}

// The search proper, once params and the query are read; `ret` is left empty on failure.
static bool search(const char *dir, unsigned k, const exports_kmviz_plugin_provider_query_t *query,
                   exports_kmviz_plugin_provider_list_hit_t *ret, provider_plugin_string_t *err) {
    size_t length = query->sequence.len;
    if (length < k)
        return fail(err, "the query '%.*s' is %zu letters long, shorter than k = %u",
                    (int)(query->id.len < 100 ? query->id.len : 100), (const char *)query->id.ptr, length, k);
    files_t files;
    if (!list_fasta(dir, &files, err)) return false;
    double min_ratio = option_number(query, "min-ratio", DEFAULT_MIN_RATIO);

    // The query's k-mers: the slot of each position's k-mer in the set, or SIZE_MAX when the
    // k-mer holds a letter other than ACGT: such k-mers are not looked up and count as absent,
    // so `ratio` equals the share of 1s in `positions` (kmviz's CovXK).
    size_t count = length - k + 1, valid = 0;
    size_t *slots = malloc(count * sizeof *slots);
    kmer_set_t set = kmer_set(count);
    roller_t r = roller(k);
    for (size_t i = 0; i < length; i++) {
        uint64_t kmer;
        bool whole = roll(&r, query->sequence.ptr[i], &kmer);
        if (i + 1 < k) continue;
        if (!whole) {
            slots[i + 1 - k] = SIZE_MAX;
            continue;
        }
        size_t slot = slot_of(&set, kmer);
        set.keys[slot] = kmer;
        slots[i + 1 - k] = slot;
        valid++;
    }

    bool ok = true;
    if (valid == 0)
        ok = fail(err, "the query has no k-mer (k = %u) made only of A, C, G and T", k);
    *ret = (exports_kmviz_plugin_provider_list_hit_t){0};
    if (ok) ret->ptr = calloc(files.len, sizeof *ret->ptr);
    size_t path_size = strlen(dir) + 2 + 256;
    char *path = malloc(path_size);
    for (size_t f = 0; ok && f < files.len; f++) {
        memset(set.found, 0, (set.mask + 1) * sizeof(bool));
        snprintf(path, path_size, "%s/%s", dir, files.names[f]);
        if (!(ok = scan_fasta(path, k, &set, err))) break;
        size_t found = 0;
        for (size_t i = 0; i < count; i++) found += slots[i] != SIZE_MAX && set.found[slots[i]];
        double ratio = (double)found / (double)count;
        if (ratio < min_ratio || found == 0) continue;

        exports_kmviz_plugin_provider_hit_t *hit = &ret->ptr[ret->len++];
        provider_plugin_string_dup(&hit->index, INDEX_NAME);
        provider_plugin_string_dup_n(&hit->sample, files.names[f], fasta_stem(files.names[f]));
        hit->ratio = ratio;
        hit->abundance.is_some = false;
        hit->positions.ptr = malloc(count * sizeof(uint32_t));
        hit->positions.len = count;
        for (size_t i = 0; i < count; i++) hit->positions.ptr[i] = slots[i] != SIZE_MAX && set.found[slots[i]];
        hit->kmer_size = k;
    }
    if (!ok || ret->len == 0) {  // no list: a failed search returns none, and the bindings free only non-empty ones
        exports_kmviz_plugin_provider_list_hit_free(ret);  // the hits and the array, when there are hits
        if (ret->len == 0) free(ret->ptr);
        *ret = (exports_kmviz_plugin_provider_list_hit_t){0};
    }
    free(path);
    free(slots);
    free(set.keys);
    free(set.found);
    files_free(&files);
    return ok;
}

bool exports_kmviz_plugin_provider_search(provider_plugin_string_t *params,
                                          exports_kmviz_plugin_provider_query_t *query,
                                          exports_kmviz_plugin_provider_list_hit_t *ret,
                                          provider_plugin_string_t *err) {
    char *dir = NULL;
    unsigned k;
    bool ok = read_params(params, &dir, &k, err) && search(dir, k, query, ret, err);
    provider_plugin_string_free(params);
    exports_kmviz_plugin_provider_query_free(query);
    free(dir);
    return ok;
}
