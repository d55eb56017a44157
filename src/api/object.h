/*
 * What every billing endpoint shares (../shared/API.md): the object types
 * and what each can expand, ids from the path, metadata, expand[], lists
 * with cursors, and answering with an object that PostgreSQL rendered.
 *
 * Objects are rendered to their API shape in SQL (levy_<type>_json() in
 * sql/), so a handler's statement returns the JSON text itself; obj_reply()
 * parses it, expands what expand[] names and answers.
 */
#ifndef LEVY_OBJECT_H
#define LEVY_OBJECT_H

#include <stdbool.h>

#include <json-c/json.h>

#include "core/err.h"
#include "db/db.h"

struct req;
struct reply;
struct obj_type;

/* A field of an object that holds another object's id until expanded. */
struct obj_expandable {
	const char *path; /* "customer", "invoice_settings.default_payment_method" */
	const struct obj_type *type;
};

struct obj_type {
	const char *name; /* the `object` value and levy_object_json()'s type: "customer" */
	const struct obj_expandable *expandable; /* ends with {NULL, NULL} */
};

extern const struct obj_type obj_customer, obj_product, obj_plan, obj_payment_method, obj_event;
extern const struct obj_type obj_subscription, obj_invoice, obj_invoiceitem, obj_payment_intent,
        obj_charge, obj_refund;

/* The largest id levy accepts from a client (Stripe's ids are far shorter). */
#define OBJ_ID_MAX_LEN 64

/*
 * A new object id made by the worker: prefix and 24 base62 characters, as
 * levy_new_id() makes them in SQL.  An insert that names its row's id
 * needs no answer, so it can be deferred (db_defer()).
 */
const char *obj_new_id(struct req *r, const char *prefix);

/* The route's i-th parameter as an object id: 0, or -1 with e = 404 naming t. */
int obj_path_id(struct req *r, int i, const struct obj_type *t, const char **id, struct err *e);
/* 404 resource_missing: "No such customer: 'cus_x'". */
int obj_missing(struct err *e, const struct obj_type *t, const char *id, const char *param);
/*
 * param_only() that also admits "expand" (every billing endpoint takes it).
 * allowed ends with NULL.
 */
int obj_only(struct req *r, const char *const *allowed, struct err *e);
/*
 * The "metadata" param as JSON text for levy_metadata_merge(): an object
 * whose "" values are null (delete the key), or the JSON string "" when
 * metadata itself is "" (delete all).  *json NULL when absent.  400 naming
 * metadata or metadata[key] for a key over 40 characters, a value over
 * 500, more than 50 keys or a value that is not a string.
 */
int obj_metadata(struct req *r, const char **json, struct err *e);
/* An optional string param as an object id (bounded): 1, 0 when absent, -1. */
int obj_id_param(struct req *r, const char *name, const char **id, struct err *e);

/*
 * For an update statement that takes its changes as one JSON object
 * ("CASE WHEN $2::jsonb ? 'email' THEN $2::jsonb ->> 'email' ELSE email END"):
 * adds the string param `name` under `key`: nothing when absent, null when
 * "" (Stripe's way of clearing a field), else the string.  0 or -1.
 */
int obj_change_str(struct req *r, struct json_object *changes, const char *name, const char *key,
                   size_t maxlen, struct err *e);
/*
 * Declares the next statement the handler's last (db_final) unless
 * expand[] will need more: see db_final().
 */
void obj_final(struct req *r);

/*
 * Parses json_text (from levy_<type>_json()), expands per the request's
 * expand[] and answers with it.
 */
int obj_reply(struct req *r, struct reply *out, int status, const struct obj_type *t,
              const char *json_text, struct err *e);

/* A list request: limit, starting_after, ending_before. */
struct obj_list {
	long long limit;
	const char *after;
	const char *before;
	char after_pos[24]; /* the cursor's list position, or "" */
	char before_pos[24];
};
/*
 * Reads limit (1..100, default 10), starting_after and ending_before (at
 * most one of them), and finds the cursor's position: 404 naming the
 * cursor param when it is not an object of the list.
 */
int obj_list_parse(struct req *r, const struct obj_type *t, struct obj_list *l, struct err *e);
/*
 * Runs a list statement and answers with the list.  The statement takes
 * $1 the starting_after position, $2 the ending_before position (bigint or
 * NULL), $3 the row limit, then the filters as $4...; it returns (json
 * text, position) rows, newest first, or oldest first when $2 is given:
 * OBJ_LIST_SQL builds it.  url is the list's url ("/v1/customers").
 */
int obj_list_reply(struct req *r, struct reply *out, const struct obj_type *t,
                   const struct obj_list *l, struct stmt *s, int nfilters,
                   const char *const *filters, const char *url, struct err *e);
/*
 * Answers with a page of objects already in memory (all of them, in list
 * order; each has an "id"): limit, starting_after and ending_before by id,
 * as Stripe pages, and expand[] under "data.".  Takes `all` over.  An
 * unknown cursor is a 404 naming its param.
 */
int obj_list_reply_array(struct req *r, struct reply *out, const struct obj_type *t,
                         struct json_object *all, const char *url, struct err *e);

/*
 * A list statement over `from` (a table with alias t and columns id and
 * seq), rendering with `render`, keeping the rows where `where` holds.  The
 * page is chosen on the list's index first and only its rows are
 * rendered: rendering every row before the LIMIT would cost a list as much
 * as the whole table.
 */
#define OBJ_LIST_SQL(render, from, where)                                                          \
	"SELECT " render "::text, t.seq FROM " from " WHERE t.id IN ((SELECT t.id FROM " from      \
	" WHERE $2::bigint IS NULL AND t.seq < coalesce($1::bigint, 9223372036854775807) AND "     \
	"(" where ") ORDER BY t.seq DESC LIMIT $3::int) UNION ALL (SELECT t.id FROM " from         \
	" WHERE $2::bigint IS NOT NULL AND t.seq > $2::bigint AND (" where                         \
	") ORDER BY t.seq LIMIT $3::int)) ORDER BY CASE WHEN $2::bigint IS NULL THEN -t.seq"       \
	" ELSE t.seq END"

#endif
