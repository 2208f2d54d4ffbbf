/*
 * verify_doc.c - read the Transfervermerk and the xdomea message for `mailroom
 * verify`; see verify_doc.h.
 */
#include "verify_doc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

/* 1 if n is an element called name in namespace ns (ns NULL: no namespace). */
static int vd_is(const xmlNode *n, const char *ns, const char *name)
{
	if (n == NULL || n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, name) != 0)
		return 0;
	if (ns == NULL)
		return n->ns == NULL;
	return n->ns != NULL && n->ns->href != NULL && strcmp((const char *)n->ns->href, ns) == 0;
}

/* Copy a node's text (or an attribute when attr is set) into out; -1 if absent or too long. */
static int vd_text(xmlNode *n, const char *attr, char *out, size_t outlen)
{
	xmlChar *t = attr ? xmlGetNoNsProp(n, (const xmlChar *)attr) : xmlNodeGetContent(n);
	int rc = -1;

	out[0] = '\0';
	if (t != NULL && strlen((const char *)t) < outlen) {
		memcpy(out, t, strlen((const char *)t) + 1);
		rc = 0;
	}
	xmlFree(t);
	return rc;
}

/* The first child element of n called name in ns, or NULL. */
static xmlNode *vd_child(xmlNode *n, const char *ns, const char *name)
{
	xmlNode *c;

	for (c = n ? n->children : NULL; c != NULL; c = c->next)
		if (vd_is(c, ns, name))
			return c;
	return NULL;
}

int verify_tv_is(const char *xml, size_t len)
{
	char err[256];
	xmlDocPtr doc;
	int is;

	if (len > VERIFY_DOC_MAX || (doc = xmlschema_parse(xml, len, err, sizeof(err))) == NULL)
		return 0;
	is = vd_is(xmlDocGetRootElement(doc), VERIFY_TV_NS, "Transfervermerk");
	xmlFreeDoc(doc);
	return is;
}

/* Bindung/Datei entries. */
static void vd_tv_bindings(xmlNode *bind, struct verify_tv *tv)
{
	xmlNode *d;

	for (d = bind ? bind->children : NULL; d != NULL; d = d->next) {
		struct verify_tv_file *f;
		char size[32], *end;

		if (!vd_is(d, VERIFY_TV_NS, "Datei"))
			continue;
		if (tv->n_files == VERIFY_DOC_MAX_FILES) {
			tv->too_many = 1;
			break;
		}
		f = &tv->files[tv->n_files++];
		vd_text(d, "name", f->name, sizeof(f->name));
		vd_text(d, "rolle", f->role, sizeof(f->role));
		vd_text(d, "sha256", f->sha256, sizeof(f->sha256));
		if (vd_text(d, "groesse", size, sizeof(size)) == 0 && size[0] >= '0' &&
		    size[0] <= '9') {
			errno = 0;
			f->size = strtoull(size, &end, 10);
			f->size_ok = errno == 0 && *end == '\0';
		}
	}
}

int verify_tv_read(xmlschema *s, const char *xml, size_t len, struct verify_tv *tv, char *err,
		   size_t errlen)
{
	xmlDocPtr doc;
	xmlNode *root, *n;
	char flag[16];
	int rc = XMLSCHEMA_OK;

	memset(tv, 0, sizeof(*tv));
	err[0] = '\0';
	if (len > VERIFY_DOC_MAX) {
		snprintf(err, errlen, "larger than %u bytes", VERIFY_DOC_MAX);
		return XMLSCHEMA_ERROR;
	}
	if ((doc = xmlschema_parse(xml, len, err, errlen)) == NULL)
		return XMLSCHEMA_NOTWF;
	root = xmlDocGetRootElement(doc);
	if (!vd_is(root, VERIFY_TV_NS, "Transfervermerk")) {
		snprintf(err, errlen, "the root element is not a Transfervermerk in %s",
			 VERIFY_TV_NS);
		xmlFreeDoc(doc);
		return XMLSCHEMA_NOTWF;
	}
	tv->parsed = 1;
	if ((n = vd_child(root, VERIFY_TV_NS, "Scanprodukt")) != NULL) {
		vd_text(vd_child(n, VERIFY_TV_NS, "Kennung"), NULL, tv->id, sizeof(tv->id));
		vd_text(vd_child(n, VERIFY_TV_NS, "Scanmodus"), NULL, tv->scan_mode,
			sizeof(tv->scan_mode));
	}
	vd_tv_bindings(vd_child(root, VERIFY_TV_NS, "Bindung"), tv);
	if ((n = vd_child(root, VERIFY_TV_NS, "Siegel")) != NULL) {
		vd_text(n, "niveau", tv->level, sizeof(tv->level));
		tv->test_pki = vd_text(n, "testPKI", flag, sizeof(flag)) == 0 &&
			       (strcmp(flag, "true") == 0 || strcmp(flag, "1") == 0);
	}
	if (s != NULL)
		rc = xmlschema_validate_doc(s, doc, err, errlen);
	xmlFreeDoc(doc);
	return rc;
}

/* A Primaerdokument: Dateiname, DateinameOriginal, SignaturSiegel/SignaturSiegelDatei. */
static void vd_part(xmlNode *pd, const char *ns, struct verify_xdomea *x)
{
	struct verify_xdomea_part *p;

	if (x->n_parts == VERIFY_DOC_MAX_FILES) {
		x->too_many = 1;
		return;
	}
	p = &x->parts[x->n_parts++];
	vd_text(vd_child(pd, ns, "Dateiname"), NULL, p->name, sizeof(p->name));
	vd_text(vd_child(pd, ns, "DateinameOriginal"), NULL, p->original, sizeof(p->original));
	vd_text(vd_child(vd_child(pd, ns, "SignaturSiegel"), ns, "SignaturSiegelDatei"), NULL,
		p->seal, sizeof(p->seal));
	/* an evidence record (RFC 4998) is a further SignaturSiegelDatei */
	for (xmlNode *c = vd_child(pd, ns, "SignaturSiegel"); c != NULL; c = NULL)
		for (xmlNode *d = c->children; d != NULL; d = d->next) {
			char name[VERIFY_NAME_MAX];
			size_t len;

			if (!vd_is(d, ns, "SignaturSiegelDatei"))
				continue;
			vd_text(d, NULL, name, sizeof(name));
			len = strlen(name);
			if (len > 4 && strcmp(name + len - 4, ".ers") == 0)
				snprintf(p->ers, sizeof(p->ers), "%s", name);
		}
}

/* Walk the message: parts, Medium codes, the Transfervermerk Anlage (depth-bounded by libxml2). */
static void vd_walk(xmlNode *n, const char *ns, struct verify_xdomea *x)
{
	char code[16], typ[64];

	for (; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (vd_is(n, ns, "Primaerdokument")) {
			vd_part(n, ns, x);
			continue;
		}
		if (vd_is(n, ns, "Medium") &&
		    vd_text(vd_child(n, NULL, "code"), NULL, code, sizeof(code)) == 0) {
			x->electronic |= strcmp(code, "001") == 0;
			x->hybrid |= strcmp(code, "002") == 0;
		}
		if (vd_is(n, ns, "Anlage") &&
		    vd_text(vd_child(n, ns, "Typ"), NULL, typ, sizeof(typ)) == 0 &&
		    strcmp(typ, "Transfervermerk") == 0)
			x->has_tv = 1;
		vd_walk(n->children, ns, x);
	}
}

int verify_xdomea_read(const char *xml, size_t len, struct verify_xdomea *x, char *err,
		       size_t errlen)
{
	xmlDocPtr doc;
	xmlNode *root, *kopf;
	const char *ns;

	memset(x, 0, sizeof(*x));
	if (len > VERIFY_DOC_MAX) {
		snprintf(err, errlen, "larger than %u bytes", VERIFY_DOC_MAX);
		return -1;
	}
	if ((doc = xmlschema_parse(xml, len, err, errlen)) == NULL)
		return -1;
	root = xmlDocGetRootElement(doc);
	if (root == NULL || root->ns == NULL || root->ns->href == NULL ||
	    strncmp((const char *)root->ns->href, VERIFY_XDOMEA_NS_PREFIX,
		    strlen(VERIFY_XDOMEA_NS_PREFIX)) != 0 ||
	    strlen((const char *)root->ns->href) >= sizeof(x->namespace_uri)) {
		xmlFreeDoc(doc);
		return 0;
	}
	ns = (const char *)root->ns->href;
	snprintf(x->namespace_uri, sizeof(x->namespace_uri), "%s", ns);
	if ((kopf = vd_child(root, ns, "Kopf")) != NULL) {
		vd_text(vd_child(kopf, ns, "ProzessID"), NULL, x->process_id,
			sizeof(x->process_id));
		vd_text(vd_child(vd_child(kopf, ns, "Nachrichtentyp"), NULL, "code"), NULL,
			x->message, sizeof(x->message));
	}
	vd_walk(root->children, ns, x);
	xmlFreeDoc(doc);
	return 1;
}

const struct verify_xdomea_part *verify_xdomea_original(const struct verify_xdomea *x,
							const char *name)
{
	size_t i;

	for (i = 0; i < x->n_parts; i++)
		if (strcmp(x->parts[i].original, name) == 0)
			return &x->parts[i];
	return NULL;
}
