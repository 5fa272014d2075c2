/* netaddr.h - "host:port" endpoints and CIDR networks (relay control). Owner: src/lib. */
#ifndef SG_NETADDR_H
#define SG_NETADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

typedef struct sg_cidr {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    int prefix;
} sg_cidr;

/* "10.0.0.0/8", "::1/128", "127.0.0.1" (host). Returns 0 or -1. */
int sg_cidr_parse(const char *s, sg_cidr *out);
bool sg_cidr_match(const sg_cidr *net, const struct sockaddr *sa);
/* "127.0.0.1:10025", "[::1]:25", "localhost:25". Resolves numerically or via getaddrinfo. */
int sg_endpoint_parse(const char *s, struct sockaddr_storage *out, socklen_t *outlen);
/* The host part of an endpoint, without brackets: "[::1]:25" -> "::1". Returns 0 or -1. */
int sg_endpoint_host(const char *s, char *host, size_t len);
/* Numeric text of an address, without port. */
void sg_sockaddr_ntop(const struct sockaddr *sa, char *buf, size_t len);
/* Listening socket (SO_REUSEADDR, non-blocking, CLOEXEC). Returns fd or -1. */
int sg_listen_tcp(const char *endpoint, int backlog);
/* Blocking connect with a timeout in seconds. Returns fd or -1. */
int sg_connect_tcp(const char *endpoint, int timeout_s);

#endif
