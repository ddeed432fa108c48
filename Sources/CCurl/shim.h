#ifndef CLUSTERCTL_CCURL_SHIM_H
#define CLUSTERCTL_CCURL_SHIM_H
#include <curl/curl.h>
#endif
