/* SPDX-License-Identifier: MIT */
#include "kubernetes_state.h"

#include <stdio.h>
#include <string.h>

#include "kubernetes_render.h"
#include "xalloc.h"

/* Why a container waits, as the kubelet says, and what it means for the
 * job: each is reported with the kubelet's message, never collapsed. */
static const struct {
        const char *reason;
        const char *hint;
} waiting[] = {
        {"ImagePullBackOff", "the node cannot pull the image (check its name, and "
                             "kubernetes.image_pull_secret for a private registry)"},
        {"ErrImagePull", "the node cannot pull the image (check its name, and "
                         "kubernetes.image_pull_secret for a private registry)"},
        {"InvalidImageName", "the image reference is malformed"},
        {"CreateContainerConfigError", "the pod spec refers to something missing (a Secret, a "
                                       "ConfigMap)"},
        {"CreateContainerError", "the runtime cannot create the container"},
        {"RunContainerError", "the runtime cannot start the container"},
        {"CrashLoopBackOff", "the container keeps exiting"},
};

static const char *str(json_t *o, const char *key)
{
        const char *s = json_string_value(json_object_get(o, key));

        return s != NULL ? s : "";
}

static json_t *condition(json_t *obj, const char *type)
{
        json_t *c;
        size_t i;

        json_array_foreach(json_object_get(json_object_get(obj, "status"), "conditions"), i,
                           c) if (strcmp(str(c, "type"), type) == 0 &&
                                  strcmp(str(c, "status"), "True") == 0) return c;
        return NULL;
}

static json_t *unscheduled(json_t *pod)
{
        json_t *c;
        size_t i;

        json_array_foreach(json_object_get(json_object_get(pod, "status"), "conditions"), i,
                           c) if (strcmp(str(c, "type"), "PodScheduled") == 0 &&
                                  strcmp(str(c, "status"), "False") == 0) return c;
        return NULL;
}

/* The hoist container's status in POD, or NULL. */
static json_t *container_status(json_t *pod)
{
        json_t *cs;
        size_t i;

        json_array_foreach(json_object_get(json_object_get(pod, "status"), "containerStatuses"), i,
                           cs) if (strcmp(str(cs, "name"), KUBERNETES_CONTAINER) == 0) return cs;
        return NULL;
}

static json_t *terminated(json_t *pod)
{
        json_t *cs = container_status(pod);
        json_t *t = json_object_get(json_object_get(cs, "state"), "terminated");

        return t != NULL ? t : json_object_get(json_object_get(cs, "lastState"), "terminated");
}

static void set(struct provider_status *ret, enum job_state state, int exit_code, char *reason)
{
        free(ret->reason);
        ret->state = state;
        ret->exit_code = exit_code;
        ret->reason = reason;
}

static char *with_message(const char *what, json_t *o)
{
        const char *msg = str(o, "message");

        return *msg ? xasprintf("%s: %s", what, msg) : xstrdup(what);
}

/* A pod that was evicted or preempted: the DisruptionTarget condition
 * (which the podFailurePolicy ignores), or the kubelet's Evicted. */
static char *disrupted(json_t *pod)
{
        json_t *c = condition(pod, "DisruptionTarget");
        json_t *st = json_object_get(pod, "status");

        if (c != NULL)
                return xasprintf("%s%s%s",
                                 *str(c, "reason") ? str(c, "reason") : "DisruptionTarget",
                                 *str(c, "message") ? ": " : "", str(c, "message"));
        if (strcmp(str(st, "reason"), "Evicted") == 0)
                return with_message("Evicted", st);
        return NULL;
}

/* The exit code and reason of a failed pod's container. */
static int failed_pod(json_t *pod, char **ret_reason)
{
        json_t *t = terminated(pod);
        int code = t != NULL ? (int)json_integer_value(json_object_get(t, "exitCode")) : -1;
        const char *why = str(t, "reason");

        if (code == KUBERNETES_EXIT_GPU_FAULT)
                *ret_reason = xasprintf("GPU fault: the entrypoint's GPU health check stopped "
                                        "the job (exit %d)",
                                        code);
        else if (strcmp(why, "OOMKilled") == 0)
                *ret_reason = xasprintf("OOMKilled: the container passed its memory limit "
                                        "(resources.memory; exit %d)",
                                        code);
        else if (code == KUBERNETES_EXIT_SETUP)
                *ret_reason = xasprintf("hoist-entrypoint failed (exit 125)%s%s",
                                        *str(t, "message") ? ": " : "", str(t, "message"));
        else if (t != NULL)
                *ret_reason = xasprintf("exit %d%s%s", code, *why ? " " : "", why);
        else
                *ret_reason = with_message(*str(json_object_get(pod, "status"), "reason")
                                                   ? str(json_object_get(pod, "status"), "reason")
                                                   : "the pod failed",
                                           json_object_get(pod, "status"));
        return code;
}

/* A pending pod's reason: unschedulable, or its container waiting. */
static int pending_pod(json_t *pod, struct provider_status *ret)
{
        json_t *c = unscheduled(pod);
        json_t *w = json_object_get(json_object_get(container_status(pod), "state"), "waiting");

        if (c != NULL) {
                set(ret, JOB_QUEUED, -1,
                    with_message(*str(c, "reason") ? str(c, "reason") : "Unschedulable", c));
                return 1;
        }
        for (size_t i = 0; w != NULL && i < sizeof waiting / sizeof waiting[0]; i++)
                if (strcmp(str(w, "reason"), waiting[i].reason) == 0) {
                        set(ret, JOB_STARTING, -1,
                            xasprintf("%s: %s%s%s", waiting[i].reason, waiting[i].hint,
                                      *str(w, "message") ? ": " : "", str(w, "message")));
                        return 1;
                }
        return 0;
}

/* The Job's own verdict: Complete, Failed (with its reason), Suspended. */
static int job_verdict(json_t *job, json_t *pods, struct provider_status *ret)
{
        json_t *c, *pod;
        size_t i;

        if (condition(job, "Complete") != NULL || condition(job, "SuccessCriteriaMet") != NULL) {
                set(ret, JOB_SUCCEEDED, 0, NULL);
                return 1;
        }
        if ((c = condition(job, "Failed")) != NULL ||
            (c = condition(job, "FailureTarget")) != NULL) {
                const char *why = str(c, "reason");
                char *pod_reason = NULL;
                int code = -1;
                json_array_foreach(pods, i, pod)
                {
                        char *d;
                        if (strcmp(str(json_object_get(pod, "status"), "phase"), "Failed") != 0)
                                continue;
                        if ((d = disrupted(pod)) != NULL) {
                                free(d);
                                continue;
                        }
                        free(pod_reason);
                        code = failed_pod(pod, &pod_reason);
                }
                if (strcmp(why, "DeadlineExceeded") == 0)
                        set(ret, JOB_FAILED, code,
                            xasprintf("DeadlineExceeded: the job ran past limits.max_runtime "
                                      "(activeDeadlineSeconds)%s%s",
                                      pod_reason ? "; " : "", pod_reason ? pod_reason : ""));
                else if (pod_reason != NULL)
                        set(ret, JOB_FAILED, code,
                            xasprintf("%s (Job %s)", pod_reason, *why ? why : "Failed"));
                else
                        set(ret, JOB_FAILED, code, with_message(*why ? why : "Failed", c));
                free(pod_reason);
                return 1;
        }
        if (condition(job, "Suspended") != NULL ||
            json_is_true(json_object_get(json_object_get(job, "spec"), "suspend"))) {
                const char *q = str(json_object_get(json_object_get(job, "metadata"), "labels"),
                                    KUBERNETES_LABEL_QUEUE);
                set(ret, JOB_QUEUED, -1,
                    *q ? xasprintf("suspended: waiting for Kueue to admit it to queue '%s'", q)
                       : xstrdup("suspended"));
                return 1;
        }
        return 0;
}

void kubernetes_map_status(json_t *job, json_t *pods, struct provider_status *ret)
{
        json_t *pod;
        size_t i;
        int running = 0, pending = 0, live = 0, succeeded = 0;
        char *interrupted = NULL;

        *ret = (struct provider_status){.state = JOB_SUBMITTED, .exit_code = -1};
        if (job == NULL) {
                set(ret, JOB_FAILED, -1,
                    xstrdup("the Job is gone from the cluster (deleted, or never created: "
                            "hoist submit stopped before the API server answered)"));
                return;
        }
        if (job_verdict(job, pods, ret))
                return;
        json_array_foreach(pods, i, pod)
        {
                const char *phase = str(json_object_get(pod, "status"), "phase");
                char *why;
                if (json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp") !=
                            NULL &&
                    strcmp(phase, "Running") != 0)
                        continue;
                if (strcmp(phase, "Running") == 0) {
                        running++;
                        live++;
                } else if (strcmp(phase, "Pending") == 0) {
                        pending++;
                        live++;
                        if (ret->reason == NULL)
                                (void)pending_pod(pod, ret);
                } else if (strcmp(phase, "Succeeded") == 0) {
                        succeeded++;
                } else if (strcmp(phase, "Failed") == 0 && (why = disrupted(pod)) != NULL) {
                        free(interrupted);
                        interrupted = why;
                }
        }
        if (running > 0 && pending == 0) {
                set(ret, JOB_RUNNING, -1, NULL);
        } else if (running > 0) {
                /* some nodes run, others wait: the job waits for them */
                if (ret->reason == NULL)
                        ret->reason = xstrdup("some nodes are still starting");
                ret->state = ret->state == JOB_QUEUED ? JOB_QUEUED : JOB_STARTING;
        } else if (pending > 0) {
                if (ret->reason == NULL)
                        set(ret, JOB_STARTING, -1, xstrdup("the pod is starting"));
        } else if (interrupted != NULL && live == 0) {
                set(ret, JOB_INTERRUPTED, -1, interrupted);
                interrupted = NULL;
        } else if (succeeded > 0) {
                set(ret, JOB_RUNNING, -1, xstrdup("its pods finished; the Job is completing"));
        } else {
                set(ret, JOB_SUBMITTED, -1, xstrdup("no pod yet"));
        }
        if (interrupted != NULL && ret->reason == NULL && live > 0)
                ret->reason = xasprintf("a pod was disrupted (%s); Kubernetes made a new one",
                                        interrupted);
        free(interrupted);
}
