/*
 * Charges: the record of each payment attempt, failed ones included, as
 * the engine's pay_attempt() wrote it and refunds updated it.  Read-only
 * here, as levy makes charges only through payment intents.
 */
#include "config.h"

#include "api/charge.h"
#include "api/object.h"
#include "http/reply.h"
#include "http/req.h"

STMT(charge_get, "SELECT levy_charge_json(t)::text FROM charges t WHERE t.id = $1");
STMT(charge_list_stmt, OBJ_LIST_SQL("levy_charge_json(t)", "charges t",
                                    "($4::text IS NULL OR t.customer = $4)"
                                    " AND ($5::text IS NULL OR t.payment_intent = $5)"));

int charge_retrieve(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {NULL};
	const char *id;
	PGresult *res;

	if (obj_only(r, allowed, e) != 0 || obj_path_id(r, 0, &obj_charge, &id, e) != 0)
		return -1;
	obj_final(r);
	res = db_exec(r->db, r->arena, &charge_get, 1, &id, e);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1)
		return obj_missing(e, &obj_charge, id, "id");
	return obj_reply(r, out, 200, &obj_charge, PQgetvalue(res, 0, 0), e);
}

int charge_list(struct req *r, struct reply *out, struct err *e)
{
	static const char *const allowed[] = {"limit",    "starting_after", "ending_before",
	                                      "customer", "payment_intent", NULL};
	const char *filters[2] = {NULL, NULL};
	struct obj_list l;

	if (obj_only(r, allowed, e) != 0 || obj_id_param(r, "customer", &filters[0], e) < 0 ||
	    obj_id_param(r, "payment_intent", &filters[1], e) < 0 ||
	    obj_list_parse(r, &obj_charge, &l, e) != 0)
		return -1;
	obj_final(r);
	return obj_list_reply(r, out, &obj_charge, &l, &charge_list_stmt, 2, filters, "/v1/charges",
	                      e);
}
