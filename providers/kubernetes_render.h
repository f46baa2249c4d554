/* SPDX-License-Identifier: MIT */
#ifndef HOIST_KUBERNETES_RENDER_H
#define HOIST_KUBERNETES_RENDER_H

/*
 * The objects the kubernetes provider sends, as pure functions of the job
 * (docs/providers/kubernetes.md "What it creates"; k8s/ holds them as
 * commented templates, tests/data/kubernetes/ as golden copies):
 *
 *   Job      batch/v1; one node: completions 1; N nodes: an Indexed Job
 *            (completions = parallelism = N) whose pods find rank 0 at
 *            <job>-0.<service>
 *   Service  v1, headless, N nodes only: the pods' DNS names
 *   Secret   v1, when the job has secrets (its storage keys, secrets:,
 *            webhook secrets): one key, secrets.json, mounted read-only at
 *            KUBERNETES_SECRETS_DIR; HOIST_SECRETS_FILE names it.  No value
 *            is ever in the pod spec's env.
 *   Secret   v1, kubernetes.io/dockerconfigjson, <job>-pull, when
 *            kubernetes.image_pull_secret is unset and hoist has registry
 *            credentials for the image's registry; the pod's
 *            imagePullSecrets names it.
 *
 * The Job is created first; the Secret and the Service carry an
 * ownerReference to it (its uid), so the API server's garbage collector
 * deletes them with it.
 */

#include <jansson.h>
#include <stdint.h>

#include "error.h"
#include "jobspec.h"
#include "kubernetes_settings.h"

#define KUBERNETES_CONTAINER "hoist"
#define KUBERNETES_SECRETS_DIR "/var/run/secrets/hoist"
#define KUBERNETES_SECRETS_KEY "secrets.json"
/* Added to stop_grace for terminationGracePeriodSeconds: the entrypoint
 * uploads checkpoints, outputs and logs after the command stops. */
#define KUBERNETES_UPLOAD_MARGIN_S 60
/* The entrypoint's exit codes that fail the Job at once (podFailurePolicy):
 * a GPU fault, and the entrypoint's own failure. */
#define KUBERNETES_EXIT_GPU_FAULT 122
#define KUBERNETES_EXIT_SETUP 125
#define KUBERNETES_LABEL_JOB "hoist.dev/job-id"
#define KUBERNETES_LABEL_ATTEMPT "hoist.dev/attempt"
#define KUBERNETES_LABEL_QUEUE "kueue.x-k8s.io/queue-name"

struct kubernetes_plan {
        const struct jobspec *spec;
        const struct kubernetes_settings *set; /* never NULL */
        const char *job_id;
        int64_t attempt;
        const char *namespace;
        const char *job_url; /* HOIST_JOB_URL */
        const char *image;
        int secrets; /* 1: the job has secrets, so a Secret is made */
        /* the secrets object ({"NAME": "value"}, what HOIST_SECRETS_FILE
         * holds); NULL: a placeholder (--dry-run, which never shows a
         * value) */
        const char *secrets_json;
        const char *job_uid; /* the created Job's uid; NULL: a placeholder */
        /* kubernetes.image_pull_secret unset and hoist has credentials for
         * the image's registry: that registry, and a Secret <job>-pull of
         * type kubernetes.io/dockerconfigjson made from them; NULL: none */
        const char *pull_registry;
        const char *pull_source; /* where the credentials came from (never a secret) */
        /* its .dockerconfigjson ({"auths": {...}}); NULL: a placeholder */
        const char *pull_json;
};

/* hoist-<job id>-<attempt>: the Job, Service and (with -secrets) Secret name. */
char *kubernetes_job_name(const char *job_id, int64_t attempt);
/* Checks what the objects need of the job: an image, nodes within range. */
int kubernetes_plan_check(const struct kubernetes_plan *p, struct hoist_error **err);

json_t *kubernetes_render_job(const struct kubernetes_plan *p);
json_t *kubernetes_render_secret(const struct kubernetes_plan *p);  /* NULL: no secrets */
json_t *kubernetes_render_service(const struct kubernetes_plan *p); /* NULL: one node */
/* NULL: no pull_registry */
json_t *kubernetes_render_pull_secret(const struct kubernetes_plan *p);
/* All of them, in the order they are sent (Job, Secret, pull Secret, Service). */
json_t *kubernetes_render_all(const struct kubernetes_plan *p);
/* The same as one YAML stream, "---" before each object, with a comment
 * saying where each is POSTed. */
int kubernetes_render_yaml(const struct kubernetes_plan *p, char **ret, struct hoist_error **err);

/* The API path objects of KIND ("Job", "Secret", "Service", "Pod") live
 * under in namespace NS: "/apis/batch/v1/namespaces/NS/jobs". */
char *kubernetes_collection_path(const char *ns, const char *kind);

#endif
