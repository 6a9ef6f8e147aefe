#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Make a throw-away CA and a server certificate signed by it, in the
# layout QEMU's x509-dir expects (ca-cert.pem, server-cert.pem,
# server-key.pem), plus an unrelated CA (other-ca-cert.pem) for the
# "wrong CA" cases and an encrypted copy of the key (server-key-enc.pem,
# password "secret").
#   make-certs.sh DIR
# The server certificate is for 127.0.0.1, ::1 and localhost; everything
# lives for a day. Only the openssl command is needed.
set -eu
dir=$1
mkdir -p "$dir"
cd "$dir"
subj_ca="/CN=spicecore test CA"
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 1 -subj "$subj_ca" \
    -keyout ca-key.pem -out ca-cert.pem 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 1 -subj "/CN=some other CA" \
    -keyout other-ca-key.pem -out other-ca-cert.pem 2>/dev/null
openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=localhost" \
    -keyout server-key.pem -out server.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nbasicConstraints=CA:FALSE\n' > ext.cnf
openssl x509 -req -in server.csr -CA ca-cert.pem -CAkey ca-key.pem -CAcreateserial -days 1 \
    -sha256 -extfile ext.cnf -out server-cert.pem 2>/dev/null
openssl pkey -in server-key.pem -aes256 -passout pass:secret -out server-key-enc.pem
rm -f server.csr ext.cnf ca-cert.srl
