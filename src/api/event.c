/*
 * Events (evt_): list and retrieve.  Events are written only by the
 * triggers of sql/005-billing-base.sql, in the transaction of the change
 * they record, and rendered by levy_event_json(); this file reads them.
 *
 * The list takes Stripe's filters: `type` (an exact type, or a pattern
 * where `*` stands for any run of characters: "customer.*"), `types` (up
 * to 20 exact types; not with `type`) and `created` (Unix seconds, exact or
 * as created[gt|gte|lt|lte]).
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "api/event.h"
#include "api/object.h"
#include "http/req.h"

/* Longer than any type Stripe names ("customer.subscription.pending_update_applied"). */
#define EVENT_TYPE_MAX_LEN 100
#define EVENT_TYPES_MAX 20
/* Created bounds: from the epoch to the end of year 9999. */
#define EVENT_TIME_MAX 253402300799LL

STMT(event_get, "SELECT levy_event_json(t)::text FROM events t WHERE t.id = $1");
/*
 * $4 an exact type, $5 a LIKE pattern, $6 a text[] of exact types, $7 and
 * $8 the created range in Unix seconds (from inclusive, to exclusive).
 */
STMT(event_list_stmt,
     OBJ_LIST_SQL("levy_event_json(t)", "events t",
                  "($4::text IS NULL OR t.type = $4::text)"
                  " AND ($5::text IS NULL OR t.type LIKE $5::text)"
                  " AND ($6::text[] IS NULL OR t.type = ANY ($6::text[]))"
                  " AND ($7::bigint IS NULL OR t.created >= to_timestamp($7::bigint))"
                  " AND ($8::bigint IS NULL OR t.created < to_timestamp($8::bigint))"));

/* Types are dotted lowercase words; `*` only where a pattern is allowed. */
static bool event_type_ok(const char *s, bool wildcard)
{
	size_t n = strlen(s);

	if (n == 0 || n > EVENT_TYPE_MAX_LEN)
		return false;
	return strspn(s, wildcard ? "abcdefghijklmnopqrstuvwxyz0123456789_.*"
	                          : "abcdefghijklmnopqrstuvwxyz0123456789_.") == n;
}

/*
 * The type filter: an exact type (*exact), or with `*` a LIKE pattern
 * (*like) in which `_` is escaped, since it is a wildcard to LIKE and a
 * plain character in types.
 */
static int event_type_filter(struct req *r, const char **exact, const char **like, struct err *e)
{
	const char *type;
	char *pat, *p;
	int rc = param_str(&r->in, "type", EVENT_TYPE_MAX_LEN, false, &type, e);

	*exact = *like = NULL;
	if (rc <= 0)
		return rc;
	if (!event_type_ok(type, true))
		return err_invalid(e, "type",
		                   "Invalid type: an event type is made of lowercase letters, "
		                   "digits, '_' and '.', with '*' as a wildcard.");
	if (strchr(type, '*') == NULL) {
		*exact = type;
		return 0;
	}
	pat = arena_alloc(r->arena, 2 * strlen(type) + 1);
	for (p = pat; *type != '\0'; type++) {
		if (*type == '_')
			*p++ = '\\';
		*p++ = *type == '*' ? '%' : *type;
	}
	*p = '\0';
	*like = pat;
	return 0;
}

/* types[]: a PostgreSQL array literal of exact types (they hold no quote or comma). */
static int event_types_filter(struct req *r, const char **array, struct err *e)
{
	struct json_object *v = param_value(&r->in, "types");
	size_t n, len = 3;
	char *lit;

	*array = NULL;
	if (v == NULL)
		return 0;
	if (param_has(&r->in, "type"))
		return err_invalid(e, "types",
		                   "You may only specify one of these parameters: type, types.");
	if (!json_object_is_type(v, json_type_array))
		return err_invalid(e, "types", "Invalid array: types must be an array of strings.");
	n = json_object_array_length(v);
	if (n > EVENT_TYPES_MAX)
		return err_invalid(e, "types", "Invalid types: at most %d types are allowed.",
		                   EVENT_TYPES_MAX);
	for (size_t i = 0; i < n; i++) {
		struct json_object *t = json_object_array_get_idx(v, i);
		char name[32];

		if (t == NULL || !json_object_is_type(t, json_type_string) ||
		    !event_type_ok(json_object_get_string(t), false)) {
			snprintf(name, sizeof(name), "types[%zu]", i);
			return err_invalid(
			        e, name,
			        "Invalid %s: an event type is made of lowercase letters, "
			        "digits, '_' and '.'.",
			        name);
		}
		len += (size_t)json_object_get_string_len(t) + 3;
	}
	lit = arena_alloc(r->arena, len);
	strcpy(lit, "{");
	for (size_t i = 0; i < n; i++) {
		strcat(lit, i > 0 ? ",\"" : "\"");
		strcat(lit, json_object_get_string(json_object_array_get_idx(v, i)));
		strcat(lit, "\"");
	}
	strcat(lit, "}");
	*array = lit;
	return 0;
}

/*
 * created, or created[gt|gte|lt|lte], as the range [from, to) of event
 * times: `created` counts whole seconds, so "gt X" is "from X+1" and
 * "lte X" is "to X+1".  Each end is "" when unbounded.
 */
static int event_created_filter(struct req *r, char from[24], char to[24], struct err *e)
{
	static const char *const ops[] = {"gt", "gte", "lt", "lte", NULL};
	struct json_object *v = param_value(&r->in, "created");
	long long lo = -1, hi = -1, x;
	int rc;

	from[0] = to[0] = '\0';
	if (v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_object)) {
		if (param_int(&r->in, "created", 0, EVENT_TIME_MAX, &x, e) < 0)
			return -1;
		lo = x;
		hi = x + 1;
	} else {
		if (param_only_in(&r->in, "created", ops, e) != 0)
			return -1;
		for (int i = 0; ops[i] != NULL; i++) {
			char name[16];

			snprintf(name, sizeof(name), "created[%s]", ops[i]);
			rc = param_int(&r->in, name, 0, EVENT_TIME_MAX, &x, e);
			if (rc < 0)
				return -1;
			if (rc == 0)
				continue;
			if (ops[i][0] == 'g') {
				x += strcmp(ops[i], "gt") == 0;
				if (lo < 0 || x > lo)
					lo = x;
			} else {
				x += strcmp(ops[i], "lte") == 0;
				if (hi < 0 || x < hi)
					hi = x;
			}
		}
	}
	if (lo >= 0)
		snprintf(from, 24, "%lld", lo);
	if (hi >= 0)
		snprintf(to, 24, "%lld", hi);
	return 0;
}

int event_retrieve(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {NULL};
	const char *id;
	PGresult *res;

	if (obj_only(r, allowed, e) != 0 || obj_path_id(r, 0, &obj_event, &id, e) != 0)
		return -1;
	obj_final(r);
	res = db_exec(r->db, r->arena, &event_get, 1, &id, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return obj_missing(e, &obj_event, id, "id");
	return obj_reply(r, out, 200, &obj_event, PQgetvalue(res, 0, 0), e);
}

int event_list(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {
	        "limit", "starting_after", "ending_before", "type", "types", "created", NULL};
	struct obj_list l;
	char from[24], to[24];
	const char *filters[5];

	if (obj_only(r, allowed, e) != 0 || event_type_filter(r, &filters[0], &filters[1], e) < 0 ||
	    event_types_filter(r, &filters[2], e) != 0 ||
	    event_created_filter(r, from, to, e) != 0 || obj_list_parse(r, &obj_event, &l, e) != 0)
		return -1;
	filters[3] = from[0] != '\0' ? from : NULL;
	filters[4] = to[0] != '\0' ? to : NULL;
	obj_final(r);
	return obj_list_reply(r, out, &obj_event, &l, &event_list_stmt, 5, filters, "/v1/events",
	                      e);
}
