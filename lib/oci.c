/* SPDX-License-Identifier: MIT */
#include "oci.h"

#include <jansson.h>
#include <string.h>

#include "cleanup.h"
#include "digest.h"
#include "xalloc.h"

/* No real image has more; a bound keeps a hostile document small. */
#define OCI_MAX_ITEMS 4096

int oci_media_type_is_index(const char *mt)
{
        return mt && (strcmp(mt, OCI_MT_INDEX) == 0 || strcmp(mt, DOCKER_MT_LIST) == 0);
}

int oci_media_type_is_manifest(const char *mt)
{
        return mt && (oci_media_type_is_index(mt) || strcmp(mt, OCI_MT_MANIFEST) == 0 ||
                      strcmp(mt, DOCKER_MT_MANIFEST) == 0);
}

static void descriptor_clear(struct oci_descriptor *d)
{
        free(d->media_type);
        free(d->digest);
        free(d->os);
        free(d->arch);
        free(d->variant);
        memset(d, 0, sizeof *d);
}

void oci_manifest_free(struct oci_manifest *m)
{
        if (m == NULL)
                return;
        free(m->media_type);
        descriptor_clear(&m->config);
        for (size_t i = 0; i < m->n_items; i++)
                descriptor_clear(&m->items[i]);
        free(m->items);
        free(m);
}

static int descriptor_parse(json_t *j, const char *what, struct oci_descriptor *d,
                            struct hoist_error **err)
{
        json_t *size = json_object_get(j, "size");
        const char *mt = json_string_value(json_object_get(j, "mediaType"));
        const char *dg = json_string_value(json_object_get(j, "digest"));
        json_t *plat = json_object_get(j, "platform");

        if (!json_is_object(j))
                return hoist_error_make(err, HOIST_ERR_INPUT, "%s is not a JSON object", what);
        if (dg == NULL || digest_parse(dg) == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "%s has no sha256 digest (only sha256 is supported)", what);
        if (!json_is_integer(size) || json_integer_value(size) < 0)
                return hoist_error_make(err, HOIST_ERR_INPUT, "%s has no valid size", what);
        d->media_type = xstrdup(mt);
        d->digest = xstrdup(dg);
        d->size = json_integer_value(size);
        if (json_is_object(plat)) {
                d->os = xstrdup(json_string_value(json_object_get(plat, "os")));
                d->arch = xstrdup(json_string_value(json_object_get(plat, "architecture")));
                d->variant = xstrdup(json_string_value(json_object_get(plat, "variant")));
        }
        return 0;
}

int oci_manifest_parse(const char *data, size_t len, const char *content_type,
                       struct oci_manifest **ret, struct hoist_error **err)
{
        json_error_t jerr;
        json_auto_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
        struct oci_manifest *m;
        const char *mt;
        json_t *items;

        if (root == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "manifest is not JSON: line %d column %d: %s", jerr.line,
                                        jerr.column, jerr.text);
        if (!json_is_object(root))
                return hoist_error_make(err, HOIST_ERR_INPUT, "manifest is not a JSON object");
        if (json_integer_value(json_object_get(root, "schemaVersion")) != 2)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "manifest schemaVersion is not 2 (schema 1 manifests are "
                                        "not supported)");
        mt = json_string_value(json_object_get(root, "mediaType"));
        if (mt == NULL && content_type != NULL && oci_media_type_is_manifest(content_type))
                mt = content_type;
        if (mt == NULL)
                mt = json_object_get(root, "manifests") ? OCI_MT_INDEX : OCI_MT_MANIFEST;
        if (!oci_media_type_is_manifest(mt))
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "unsupported manifest media type '%s'", mt);
        m = xzalloc(sizeof *m);
        m->media_type = xstrdup(mt);
        m->is_index = oci_media_type_is_index(mt);
        items = json_object_get(root, m->is_index ? "manifests" : "layers");
        if (!json_is_array(items) || json_array_size(items) > OCI_MAX_ITEMS) {
                const char *key = m->is_index ? "manifests" : "layers";
                oci_manifest_free(m);
                return hoist_error_make(err, HOIST_ERR_INPUT, "manifest has no valid \"%s\" array",
                                        key);
        }
        if (!m->is_index && descriptor_parse(json_object_get(root, "config"), "manifest config",
                                             &m->config, err) < 0) {
                oci_manifest_free(m);
                return -1;
        }
        m->items = xcalloc(json_array_size(items) + 1, sizeof *m->items);
        for (size_t i = 0; i < json_array_size(items); i++) {
                char what[64];
                (void)snprintf(what, sizeof what, "manifest %s[%zu]",
                               m->is_index ? "manifests" : "layers", i);
                if (descriptor_parse(json_array_get(items, i), what, &m->items[i], err) < 0) {
                        oci_manifest_free(m);
                        return -1;
                }
                m->n_items++;
        }
        *ret = m;
        return 0;
}

const struct oci_descriptor *oci_index_select(const struct oci_manifest *m, const char *os,
                                              const char *arch)
{
        for (size_t i = 0; i < m->n_items; i++) {
                const struct oci_descriptor *d = &m->items[i];
                if (d->os && d->arch && strcmp(d->os, os) == 0 && strcmp(d->arch, arch) == 0)
                        return d;
        }
        return NULL;
}
