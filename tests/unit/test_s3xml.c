/* SPDX-License-Identifier: MIT */
/*
 * Documents as S3 sends and receives them (the S3 API reference's examples,
 * with AWS's own whitespace and namespace), then the hostile ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3xml.h"
#include "xalloc.h"

static struct s3xml_node *parse_ok(const char *xml, const char *name)
{
        struct s3xml_node *root = NULL;
        struct hoist_error *err = NULL;
        int r = s3xml_parse(xml, strlen(xml), name, &root, &err);

        if (r < 0)
                fail_msg("%s", err->msg);
        assert_non_null(root);
        return root;
}

/* The message of the failed parse of XML, which the caller frees. */
static char *parse_fails(const char *xml, size_t len)
{
        struct s3xml_node *root = NULL;
        struct hoist_error *err = NULL;
        char *msg;

        assert_int_equal(s3xml_parse(xml, len, "doc.xml", &root, &err), -1);
        assert_null(root);
        assert_non_null(err);
        assert_int_equal(err->code, HOIST_ERR_INPUT);
        assert_non_null(strstr(err->msg, "'doc.xml': "));
        msg = xstrdup(err->msg);
        hoist_error_free(err);
        return msg;
}

static void test_list_objects_v2(void **state)
{
        (void)state;
        static const char xml[] =
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
                "  <Name>example-bucket</Name>\n"
                "  <Prefix>runs/</Prefix>\n"
                "  <KeyCount>3</KeyCount>\n"
                "  <MaxKeys>2</MaxKeys>\n"
                "  <Delimiter>/</Delimiter>\n"
                "  <IsTruncated>true</IsTruncated>\n"
                "  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="
                "</NextContinuationToken>\n"
                "  <Contents>\n"
                "    <Key>runs/a&amp;b.ckpt</Key>\n"
                "    <LastModified>2009-10-12T17:50:30.000Z</LastModified>\n"
                "    <ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag>\n"
                "    <Size>434234</Size>\n"
                "    <StorageClass>STANDARD</StorageClass>\n"
                "  </Contents>\n"
                "  <Contents>\n"
                "    <Key>runs/model.safetensors</Key>\n"
                "    <LastModified>2009-10-12T17:50:31.000Z</LastModified>\n"
                "    <ETag>\"a1b2c3d4e5f60718293a4b5c6d7e8f90-3\"</ETag>\n"
                "    <Size>18446744073709551615</Size>\n"
                "    <StorageClass>STANDARD</StorageClass>\n"
                "  </Contents>\n"
                "  <CommonPrefixes>\n"
                "    <Prefix>runs/logs/</Prefix>\n"
                "  </CommonPrefixes>\n"
                "</ListBucketResult>\n";
        _cleanup_s3xml_ struct s3xml_node *root = parse_ok(xml, "ListBucketResult");
        struct hoist_error *err = NULL;
        const struct s3xml_node *c;
        uint64_t u = 0;
        int b = -1;

        assert_string_equal(root->name, "ListBucketResult");
        assert_string_equal(s3xml_child_text(root, "Name"), "example-bucket");
        assert_string_equal(s3xml_child_text(root, "Prefix"), "runs/");
        assert_int_equal(s3xml_child_bool(root, "IsTruncated", &b, &err), 0);
        assert_int_equal(b, 1);
        assert_string_equal(s3xml_child_text(root, "NextContinuationToken"),
                            "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
        assert_int_equal(s3xml_child_u64(root, "KeyCount", &u, &err), 0);
        assert_int_equal(u, 3);

        c = s3xml_next(root, "Contents", NULL);
        assert_non_null(c);
        assert_string_equal(s3xml_child_text(c, "Key"), "runs/a&b.ckpt");
        assert_string_equal(s3xml_child_text(c, "ETag"), "\"fba9dede5f27731c9771645a39863328\"");
        assert_int_equal(s3xml_child_u64(c, "Size", &u, &err), 0);
        assert_int_equal(u, 434234);
        c = s3xml_next(root, "Contents", c);
        assert_non_null(c);
        assert_string_equal(s3xml_child_text(c, "Key"), "runs/model.safetensors");
        assert_int_equal(s3xml_child_u64(c, "Size", &u, &err), 0);
        assert_true(u == UINT64_MAX);
        assert_null(s3xml_next(root, "Contents", c));

        c = s3xml_child(root, "CommonPrefixes");
        assert_non_null(c);
        assert_string_equal(s3xml_child_text(c, "Prefix"), "runs/logs/");
        /* Containers keep their (whitespace) text; there is never NULL text. */
        assert_non_null(root->text);
        assert_null(s3xml_child(root, "ContinuationToken"));
        assert_null(s3xml_child_text(root, "StartAfter"));
        assert_null(err);
}

static void test_initiate_multipart(void **state)
{
        (void)state;
        static const char xml[] =
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<InitiateMultipartUploadResult "
                "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                "<Bucket>example-bucket</Bucket><Key>example-object</Key>"
                "<UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>"
                "</InitiateMultipartUploadResult>";
        _cleanup_s3xml_ struct s3xml_node *root = parse_ok(xml, "InitiateMultipartUpload");

        assert_string_equal(root->name, "InitiateMultipartUploadResult");
        assert_string_equal(s3xml_child_text(root, "Bucket"), "example-bucket");
        assert_string_equal(s3xml_child_text(root, "Key"), "example-object");
        assert_string_equal(s3xml_child_text(root, "UploadId"),
                            "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA");
        assert_int_equal(root->n_children, 3);
        assert_string_equal(root->text, "");
}

static void test_complete_multipart_request(void **state)
{
        (void)state;
        /* What awscli sends, namespace and all. */
        static const char xml[] =
                "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
                "  <Part><ETag>\"a54357aff0632cce46d942af68356b38\"</ETag>"
                "<PartNumber>1</PartNumber></Part>\n"
                "  <Part><PartNumber>2</PartNumber>"
                "<ETag>\"0c78aef83f66abc1fa1e8477f296d394\"</ETag></Part>\n"
                "  <Part><ETag>\"acbd18db4cc2f85cedef654fccc4a4d8\"</ETag>"
                "<PartNumber>3</PartNumber><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part>\n"
                "</CompleteMultipartUpload>\n";
        static const char *const etags[] = {
                "\"a54357aff0632cce46d942af68356b38\"",
                "\"0c78aef83f66abc1fa1e8477f296d394\"",
                "\"acbd18db4cc2f85cedef654fccc4a4d8\"",
        };
        _cleanup_s3xml_ struct s3xml_node *root = parse_ok(xml, "CompleteMultipartUpload");
        struct hoist_error *err = NULL;
        const struct s3xml_node *part = NULL;
        unsigned n = 0;

        while ((part = s3xml_next(root, "Part", part)) != NULL) {
                uint64_t num = 0;

                assert_true(n < 3);
                assert_int_equal(s3xml_child_u64(part, "PartNumber", &num, &err), 0);
                assert_int_equal(num, n + 1);
                assert_string_equal(s3xml_child_text(part, "ETag"), etags[n]);
                n++;
        }
        assert_int_equal(n, 3);
        assert_null(err);
        /* A node that is not a child of ROOT ends the iteration. */
        assert_null(s3xml_next(root, "Part", root));
        assert_null(s3xml_next(NULL, "Part", NULL));
}

static void test_complete_multipart_result(void **state)
{
        (void)state;
        static const char xml[] =
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<CompleteMultipartUploadResult "
                "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
                "  <Location>http://example-bucket.s3.amazonaws.com/Example-Object</Location>\n"
                "  <Bucket>example-bucket</Bucket>\n"
                "  <Key>Example-Object</Key>\n"
                "  <ETag>\"3858f62230ac3c915f300c664312c11f-9\"</ETag>\n"
                "</CompleteMultipartUploadResult>";
        _cleanup_s3xml_ struct s3xml_node *root = parse_ok(xml, "CompleteMultipartUpload");
        struct s3xml_error e = {0};

        assert_string_equal(root->name, "CompleteMultipartUploadResult");
        assert_string_equal(s3xml_child_text(root, "Location"),
                            "http://example-bucket.s3.amazonaws.com/Example-Object");
        assert_string_equal(s3xml_child_text(root, "ETag"),
                            "\"3858f62230ac3c915f300c664312c11f-9\"");
        assert_int_equal(s3xml_parse_error(root, &e), 0);
        assert_null(e.code);
}

static void test_error_document(void **state)
{
        (void)state;
        static const char xml[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                  "<Error>\n"
                                  "  <Code>NoSuchKey</Code>\n"
                                  "  <Message>The resource you requested does not exist</Message>\n"
                                  "  <Resource>/mybucket/myfoto.jpg</Resource>\n"
                                  "  <RequestId>4442587FB7D0A2F9</RequestId>\n"
                                  "</Error>";
        static const char partial[] = "<Error><Code>AccessDenied</Code></Error>";
        struct s3xml_error e = {0};
        struct s3xml_node *root = parse_ok(xml, "GET");

        assert_int_equal(s3xml_parse_error(root, &e), 1);
        assert_string_equal(e.code, "NoSuchKey");
        assert_string_equal(e.message, "The resource you requested does not exist");
        assert_string_equal(e.resource, "/mybucket/myfoto.jpg");
        assert_string_equal(e.request_id, "4442587FB7D0A2F9");
        s3xml_error_clear(&e);
        assert_null(e.code);
        s3xml_free(root);

        root = parse_ok(partial, "PUT");
        assert_int_equal(s3xml_parse_error(root, &e), 1);
        assert_string_equal(e.code, "AccessDenied");
        assert_null(e.message);
        assert_null(e.resource);
        assert_null(e.request_id);
        s3xml_error_clear(&e);
        s3xml_error_clear(&e); /* twice is fine */
        s3xml_error_clear(NULL);
        s3xml_free(root);
        assert_int_equal(s3xml_parse_error(NULL, &e), 0);
}

static void test_list_all_my_buckets(void **state)
{
        (void)state;
        static const char xml[] =
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
                "  <Owner>\n"
                "    <ID>bcaf1ffd86f461ca5fb16fd081034f</ID>\n"
                "    <DisplayName>webfile</DisplayName>\n"
                "  </Owner>\n"
                "  <Buckets>\n"
                "    <Bucket><Name>quotes</Name>"
                "<CreationDate>2006-02-03T16:45:09.000Z</CreationDate></Bucket>\n"
                "    <Bucket><Name>samples</Name>"
                "<CreationDate>2006-02-03T16:41:58.000Z</CreationDate></Bucket>\n"
                "  </Buckets>\n"
                "</ListAllMyBucketsResult>";
        _cleanup_s3xml_ struct s3xml_node *root = parse_ok(xml, "ListBuckets");
        const struct s3xml_node *buckets = s3xml_child(root, "Buckets");
        const struct s3xml_node *bk;

        assert_string_equal(s3xml_child_text(s3xml_child(root, "Owner"), "DisplayName"), "webfile");
        assert_non_null(buckets);
        bk = s3xml_next(buckets, "Bucket", NULL);
        assert_string_equal(s3xml_child_text(bk, "Name"), "quotes");
        bk = s3xml_next(buckets, "Bucket", bk);
        assert_string_equal(s3xml_child_text(bk, "Name"), "samples");
        assert_string_equal(s3xml_child_text(bk, "CreationDate"), "2006-02-03T16:41:58.000Z");
        assert_null(s3xml_next(buckets, "Bucket", bk));
        /* Accessors take NULL, so a chain of lookups needs no checks. */
        assert_null(s3xml_child_text(s3xml_child(root, "Nope"), "Name"));
}

static void test_namespace_prefix(void **state)
{
        (void)state;
        static const char xml[] =
                "<s3:ListBucketResult xmlns:s3=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                "<s3:Contents><s3:Key>a/b</s3:Key><s3:Size>7</s3:Size></s3:Contents>"
                "<other:Key xmlns:other=\"urn:x\">second</other:Key>"
                "</s3:ListBucketResult>";
        _cleanup_s3xml_ struct s3xml_node *root = parse_ok(xml, "prefixed");
        const struct s3xml_node *c = s3xml_child(root, "Contents");

        assert_string_equal(root->name, "ListBucketResult");
        assert_non_null(c);
        assert_string_equal(s3xml_child_text(c, "Key"), "a/b");
        assert_string_equal(s3xml_child_text(root, "Key"), "second");
}

static void test_mixed_text(void **state)
{
        (void)state;
        static const char xml[] = "<a>one<b>x</b>two<![CDATA[<three>]]>&#x41;<!-- c --></a>";
        _cleanup_s3xml_ struct s3xml_node *root = parse_ok(xml, "mixed");

        assert_string_equal(root->text, "onetwo<three>A");
        assert_string_equal(s3xml_child_text(root, "b"), "x");
}

static void test_malformed(void **state)
{
        (void)state;
        static const char mismatched[] = "<?xml version=\"1.0\"?>\n"
                                         "<ListBucketResult>\n"
                                         "  <Name>b</Name>\n"
                                         "  <Key>k</Name>\n"
                                         "</ListBucketResult>\n";
        char *msg;

        msg = parse_fails(mismatched, strlen(mismatched));
        assert_non_null(strstr(msg, "line 4, column"));
        assert_non_null(strstr(msg, "mismatched tag"));
        free(msg);

        msg = parse_fails("", 0);
        assert_non_null(strstr(msg, "line 1"));
        free(msg);
        msg = parse_fails(NULL, 0);
        free(msg);
        msg = parse_fails("<a>", 3);
        free(msg);
        msg = parse_fails("<a/><b/>", 8);
        assert_non_null(strstr(msg, "junk after document element"));
        free(msg);
        msg = parse_fails("<a>&nbsp;</a>", 13);
        assert_non_null(strstr(msg, "undefined entity"));
        free(msg);
        msg = parse_fails("<p:a>x</p:a>", 12); /* unbound prefix */
        free(msg);
        msg = parse_fails("<a>\x01</a>", 7);
        free(msg);
        msg = parse_fails("<a>x</a>\0", 9);
        free(msg);
}

static void test_dtd_refused(void **state)
{
        (void)state;
        static const char laughs[] = "<?xml version=\"1.0\"?>\n"
                                     "<!DOCTYPE lolz [\n"
                                     " <!ENTITY lol \"lol\">\n"
                                     " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
                                     " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
                                     " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
                                     "]>\n"
                                     "<Error><Code>&lol3;</Code></Error>\n";
        static const char xxe[] = "<?xml version=\"1.0\"?>\n"
                                  "<!DOCTYPE r SYSTEM \"file:///etc/passwd\">\n"
                                  "<Key>&xxe;</Key>";
        static const char bare[] = "<!DOCTYPE Error><Error/>";
        char *msg;

        msg = parse_fails(laughs, strlen(laughs));
        assert_non_null(strstr(msg, "DTDs are not accepted"));
        assert_non_null(strstr(msg, "line 2"));
        free(msg);
        msg = parse_fails(xxe, strlen(xxe));
        assert_non_null(strstr(msg, "DTDs are not accepted"));
        free(msg);
        msg = parse_fails(bare, strlen(bare));
        assert_non_null(strstr(msg, "DTDs are not accepted"));
        free(msg);
}

static char *nested(unsigned depth, const char *inner)
{
        struct buf b = {0};

        for (unsigned i = 0; i < depth; i++)
                buf_append_str(&b, "<d>");
        buf_append_str(&b, inner);
        for (unsigned i = 0; i < depth; i++)
                buf_append_str(&b, "</d>");
        return buf_take(&b);
}

static void test_depth_cap(void **state)
{
        (void)state;
        char *ok = nested(S3XML_MAX_DEPTH, "leaf");
        char *too_deep = nested(S3XML_MAX_DEPTH + 1, "leaf");
        char *empty_deep = nested(S3XML_MAX_DEPTH, "<e/>");
        struct s3xml_node *root = parse_ok(ok, "deep");
        const struct s3xml_node *n = root;
        unsigned levels = 1;
        char *msg;

        while (n->n_children > 0) {
                n = n->children[0];
                levels++;
        }
        assert_int_equal(levels, S3XML_MAX_DEPTH);
        assert_string_equal(n->text, "leaf");
        s3xml_free(root);

        msg = parse_fails(too_deep, strlen(too_deep));
        assert_non_null(strstr(msg, "more than 32 levels deep"));
        free(msg);
        /* An empty element stopped in its start handler still gets its end
         * event from expat; that must not unbalance the stack. */
        msg = parse_fails(empty_deep, strlen(empty_deep));
        assert_non_null(strstr(msg, "levels deep"));
        free(msg);
        free(ok);
        free(too_deep);
        free(empty_deep);
}

static void test_element_cap(void **state)
{
        (void)state;
        struct buf b = {0};
        char *msg;

        buf_append_str(&b, "<r>");
        for (unsigned i = 0; i < S3XML_MAX_ELEMENTS; i++)
                buf_append_str(&b, "<P/>");
        buf_append_str(&b, "</r>");
        msg = parse_fails(b.data, b.len);
        assert_non_null(strstr(msg, "more than 200000 elements"));
        free(msg);

        /* One fewer fits, and iterating them all is linear. */
        buf_reset(&b);
        buf_append_str(&b, "<r>");
        for (unsigned i = 0; i < S3XML_MAX_ELEMENTS - 1; i++)
                buf_append_str(&b, "<P/>");
        buf_append_str(&b, "</r>");
        {
                _cleanup_s3xml_ struct s3xml_node *root = parse_ok(b.data, "many");
                const struct s3xml_node *p = NULL;
                unsigned n = 0;

                while ((p = s3xml_next(root, "P", p)) != NULL)
                        n++;
                assert_int_equal(n, S3XML_MAX_ELEMENTS - 1);
        }
        buf_free(&b);
}

static void test_size_cap(void **state)
{
        (void)state;
        char *msg = parse_fails("<a/>", (size_t)S3XML_MAX_SIZE + 1);

        assert_non_null(strstr(msg, "at most"));
        free(msg);
}

static void test_u64_bool(void **state)
{
        (void)state;
        static const char xml[] = "<R><Zero>0</Zero><Big>18446744073709551615</Big>"
                                  "<Over>18446744073709551616</Over><Neg>-1</Neg>"
                                  "<Empty></Empty><Hex>0x10</Hex><Spaced>\n 42 \n</Spaced>"
                                  "<Mid>4 2</Mid><Plus>+1</Plus>"
                                  "<T>true</T><F> false </F><Cap>True</Cap><One>1</One>"
                                  "</R>";
        static const char *const bad_u64[] = {"Over", "Neg", "Empty", "Hex", "Mid", "Plus", "T"};
        static const char *const bad_bool[] = {"Cap", "One", "Empty", "Zero"};
        _cleanup_s3xml_ struct s3xml_node *root = parse_ok(xml, "numbers");
        struct hoist_error *err = NULL;
        uint64_t u = 0;
        int b = -1;

        assert_int_equal(s3xml_child_u64(root, "Zero", &u, &err), 0);
        assert_int_equal(u, 0);
        assert_int_equal(s3xml_child_u64(root, "Big", &u, &err), 0);
        assert_true(u == UINT64_MAX);
        assert_int_equal(s3xml_child_u64(root, "Spaced", &u, &err), 0);
        assert_int_equal(u, 42);
        assert_int_equal(s3xml_child_bool(root, "T", &b, &err), 0);
        assert_int_equal(b, 1);
        assert_int_equal(s3xml_child_bool(root, "F", &b, &err), 0);
        assert_int_equal(b, 0);
        assert_null(err);

        for (size_t i = 0; i < sizeof bad_u64 / sizeof *bad_u64; i++) {
                u = 7;
                assert_int_equal(s3xml_child_u64(root, bad_u64[i], &u, &err), -1);
                assert_int_equal(u, 7); /* untouched on failure */
                assert_non_null(strstr(err->msg, bad_u64[i]));
                assert_non_null(strstr(err->msg, "unsigned integer"));
                hoist_error_release(&err);
        }
        for (size_t i = 0; i < sizeof bad_bool / sizeof *bad_bool; i++) {
                b = 7;
                assert_int_equal(s3xml_child_bool(root, bad_bool[i], &b, &err), -1);
                assert_int_equal(b, 7);
                assert_non_null(strstr(err->msg, bad_bool[i]));
                hoist_error_release(&err);
        }
        assert_int_equal(s3xml_child_u64(root, "Missing", &u, &err), -1);
        assert_string_equal(err->msg, "<Missing> in <R> is missing");
        hoist_error_release(&err);
        assert_int_equal(s3xml_child_bool(root, "Missing", &b, &err), -1);
        assert_non_null(strstr(err->msg, "missing"));
        hoist_error_release(&err);
        assert_int_equal(s3xml_child_u64(NULL, "Size", &u, &err), -1);
        hoist_error_release(&err);
}

static void test_escape(void **state)
{
        (void)state;
        struct buf b = {0};

        s3xml_escape(&b, "a&b<c>d\"e'f");
        assert_string_equal(b.data, "a&amp;b&lt;c&gt;d&quot;e&apos;f");
        buf_reset(&b);
        s3xml_escape(&b, "tab\tlf\ncr\r\x01\x08\x0b\x0c\x1f end \x7f");
        assert_string_equal(b.data, "tab\tlf\ncr&#13; end \x7f");
        buf_reset(&b);
        s3xml_escape(&b, NULL);
        s3xml_escape(&b, "");
        assert_int_equal(b.len, 0);
        s3xml_element(&b, "Key", "runs/<1>&'2'.ckpt");
        assert_string_equal(b.data, "<Key>runs/&lt;1&gt;&amp;&apos;2&apos;.ckpt</Key>");
        buf_free(&b);
}

static void test_escape_round_trip(void **state)
{
        (void)state;
        static const char *const texts[] = {
                "plain",
                "",
                "a&b<c>d\"e'f",
                "]]> and <![CDATA[ and &amp; literally",
                "tab\tnewline\ncarriage\r\nreturn",
                "  leading and trailing  ",
                "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
                "runs/2024-01-01T00:00:00Z/ckpt-00001.safetensors",
        };

        for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
                _cleanup_buf_ struct buf b = {0};

                buf_append_str(&b, "<CompleteMultipartUpload><Part>");
                s3xml_element(&b, "ETag", texts[i]);
                buf_append_str(&b, "</Part></CompleteMultipartUpload>");
                _cleanup_s3xml_ struct s3xml_node *root = parse_ok(b.data, "round trip");
                assert_string_equal(s3xml_child_text(s3xml_child(root, "Part"), "ETag"), texts[i]);
        }

        /* Controls XML cannot carry are dropped, and the rest survives. */
        _cleanup_buf_ struct buf b = {0};
        s3xml_element(&b, "Key",
                      "a\x01"
                      "b\x1b"
                      "c");
        _cleanup_s3xml_ struct s3xml_node *root = parse_ok(b.data, "controls");
        assert_string_equal(root->text, "abc");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_list_objects_v2),
                cmocka_unit_test(test_initiate_multipart),
                cmocka_unit_test(test_complete_multipart_request),
                cmocka_unit_test(test_complete_multipart_result),
                cmocka_unit_test(test_error_document),
                cmocka_unit_test(test_list_all_my_buckets),
                cmocka_unit_test(test_namespace_prefix),
                cmocka_unit_test(test_mixed_text),
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_dtd_refused),
                cmocka_unit_test(test_depth_cap),
                cmocka_unit_test(test_element_cap),
                cmocka_unit_test(test_size_cap),
                cmocka_unit_test(test_u64_bool),
                cmocka_unit_test(test_escape),
                cmocka_unit_test(test_escape_round_trip),
        };
        return cmocka_run_group_tests_name("s3xml", tests, NULL, NULL);
}
