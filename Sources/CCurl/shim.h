#ifndef CLUSTERCTL_CCURL_SHIM_H
#define CLUSTERCTL_CCURL_SHIM_H
#include <curl/curl.h>

/* curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call. These typed
   wrappers pass exactly one argument of the type libcurl documents for each option family
   (long, char *, curl_off_t, struct curl_slist *, callback pointers, void *). */

typedef size_t (*cc_data_callback)(char *ptr, size_t size, size_t nmemb, void *userdata);
typedef int (*cc_xferinfo_callback)(void *clientp, curl_off_t dltotal, curl_off_t dlnow,
                                    curl_off_t ultotal, curl_off_t ulnow);

static inline CURLcode cc_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode cc_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode cc_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode cc_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode cc_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode cc_setopt_data_callback(CURL *handle, CURLoption option, cc_data_callback value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode cc_setopt_xferinfo_callback(CURL *handle, cc_xferinfo_callback value) {
    return curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, value);
}
/* Blob options (CURLOPT_SSLCERT_BLOB, CURLOPT_SSLKEY_BLOB, CURLOPT_CAINFO_BLOB; libcurl >= 7.77):
   CURL_BLOB_COPY makes libcurl copy the bytes at once, so key material never touches the disk and
   the caller's buffer may go away right after the call. */
static inline CURLcode cc_setopt_blob(CURL *handle, CURLoption option, const void *data, size_t length) {
    struct curl_blob blob;
    blob.data = (void *)data;
    blob.len = length;
    blob.flags = CURL_BLOB_COPY;
    return curl_easy_setopt(handle, option, &blob);
}
static inline CURLcode cc_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}
#endif
