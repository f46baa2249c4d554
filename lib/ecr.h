/* SPDX-License-Identifier: MIT */
#ifndef HOIST_ECR_H
#define HOIST_ECR_H

/*
 * Amazon ECR as a registry: a push or pull to
 * <account>.dkr.ecr.<region>.amazonaws.com gets its credentials from ECR's
 * GetAuthorizationToken (AWS JSON 1.1, SigV4, lib/awsjson.h), and a push may
 * create a missing repository first (CreateRepository), when the user lets
 * it: `hoist push --create-repository`, or HOIST_ECR_CREATE_REPOSITORY=1.
 *
 * Test and VPC-endpoint hooks: HOIST_ECR_ENDPOINT replaces the ECR API's
 * endpoint; HOIST_ECR_REGISTRY names one more registry host ("host:port")
 * that stands for ECR, in the region of the AWS chain.  The token is a
 * secret: never logged, never in an error.
 */

#include <jansson.h>

#include "error.h"
#include "registry_auth.h"

/* 1 when HOST is an ECR registry (and *RET_REGION its region, when
 * RET_REGION is given), else 0. */
int ecr_registry_host(const char *host, char **ret_region);

/* The user and password of a GetAuthorizationToken answer: its first
 * authorizationData's authorizationToken, base64 of "user:password". */
int ecr_parse_token(json_t *o, char **ret_user, char **ret_password, struct hoist_error **err);

/* Credentials for ECR registry HOST.  With CREATE_REPO (a repository name;
 * NULL: none), the repository is created first when DescribeRepositories
 * says it does not exist. */
int ecr_credentials(const char *host, const char *create_repo, struct registry_creds **ret,
                    struct hoist_error **err);

/* Whether the environment lets a push create ECR repositories
 * (HOIST_ECR_CREATE_REPOSITORY=1). */
int ecr_create_repository_env(void);

#endif
