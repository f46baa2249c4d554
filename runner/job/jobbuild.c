/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "runner/image/builder.h"
#include "buf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "runner/job/jobbuild.h"
#include "log.h"
#include "proc.h"
#include "xalloc.h"

char *jobbuild_ref(const struct jobfile *jf)
{
        if (jf->build != NULL && jf->build->push != NULL)
                return xstrdup(jf->build->push);
        if (jf->image != NULL)
                return xstrdup(jf->image);
        return xasprintf("localhost/hoist-%s:latest", jf->name);
}

static int run_tool(char **argv, struct hoist_error **err)
{
        _cleanup_buf_ struct buf errbuf = {0};
        int status = 0;

        if (proc_run(argv, NULL, &errbuf, &status, err) < 0)
                return hoist_error_wrap(err, "%s", argv[0]);
        if (status != 0)
                return hoist_error_make(err, HOIST_ERR_PROVIDER, "%s %s failed (exit %d): %s",
                                        argv[0], argv[1], status, errbuf.data ? errbuf.data : "");
        return 0;
}

/* Copies the image from the local store (an OCI layout) into podman's
 * storage under the same name, so `podman run REF` finds it without a
 * registry.  skopeo names the copy exactly; without it, podman pulls from
 * the registry the image was pushed to. */
static int load_into_podman(const char *images, const char *ref, int pushed,
                            struct hoist_error **err)
{
        _cleanup_free_ char *src = xasprintf("oci:%s:%s", images, ref);
        _cleanup_free_ char *dst = xasprintf("containers-storage:%s", ref);

        if (proc_which("skopeo", NULL)) {
                char *argv[] = {
                        (char *)"skopeo", (char *)"copy", (char *)"--quiet", src, dst, NULL};
                return run_tool(argv, err);
        }
        if (pushed) {
                char *argv[] = {(char *)"podman", (char *)"pull", (char *)"--quiet", (char *)ref,
                                NULL};
                return run_tool(argv, err);
        }
        return hoist_error_make(err, HOIST_ERR_PROVIDER,
                                "cannot hand '%s' to podman: install skopeo, or set build.push "
                                "to a registry podman can pull from",
                                ref);
}

static int wants_podman(const struct jobfile *jf)
{
        const char *engine = getenv("HOIST_CONTAINER_ENGINE");

        if (jf->provider != NULL && strcmp(jf->provider, "local") != 0)
                return 0;
        if (jf->runtime == JOBFILE_RUNTIME_PROCESS)
                return 0;
        if (engine != NULL && *engine != '\0')
                return strcmp(engine, "podman") == 0;
        return proc_which("podman", NULL);
}

int jobbuild_run(struct jobfile *jf, const struct hoist_home *home, FILE *out,
                 struct hoist_error **err)
{
        const struct jobfile_build *jb = jf->build;
        _cleanup_free_ char *ref = jobbuild_ref(jf);
        _cleanup_free_ char *images = path_join(home->dir, "images");
        _cleanup_free_ char *cache = path_join(home->dir, "cache/build");
        _cleanup_free_ char *bundle_dir = home_find_bundle(home);
        _cleanup_free_ char *bundle_tar = bundle_dir ? builder_find_bundle_tar(bundle_dir) : NULL;
        struct builder_options o = {
                .context = jb->context,
                .dockerfile = jb->dockerfile,
                .tag = ref,
                .target = jb->target,
                .build_args = jb->args,
                .compression = "gzip",
                .bundle_tar = bundle_tar,
                .images_dir = images,
                .cache_dir = cache,
                .tmp_dir = home->tmp_dir,
                .out = out,
        };
        struct builder_result res = {0};

        if (bundle_tar == NULL)
                return hoist_error_make(err, HOIST_ERR_NOT_FOUND,
                                        "the entrypoint bundle hoist-entrypoint-bundle.tar was not "
                                        "found (run 'make bundle', or set HOIST_BUNDLE_DIR)");
        if (!fs_is_dir(jb->context))
                return hoist_error_make(err, HOIST_ERR_NOT_FOUND,
                                        "build.context '%s' is not a directory", jb->context);
        if (builder_build(&o, &res, err) < 0)
                return -1;
        log_info("built %s@%s", ref, res.manifest_digest);
        builder_result_clear(&res);
        if (jb->push != NULL && builder_push(images, ref, 0, jb->create_repository, out, err) < 0)
                return -1;
        if (wants_podman(jf) && load_into_podman(images, ref, jb->push != NULL, err) < 0)
                return -1;
        free(jf->image);
        jf->image = TAKE_PTR(ref);
        return 0;
}
