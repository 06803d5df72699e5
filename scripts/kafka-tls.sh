#!/usr/bin/env bash
# kafka-tls.sh — the TLS material and credentials of the secured listeners that
# scripts/kafka.sh adds (KAFKA_SECURE=1, the default), generated with openssl:
#
#   ca.pem / ca.key          a test CA (10 years)
#   broker.pem / broker.p12  the broker's certificate (SAN 127.0.0.1, localhost),
#                            signed by the CA; PKCS12 keystore for Kafka
#   expired.p12              a broker certificate of the same CA that expired in 2020
#   client.pem / client.key  a client certificate (CN=bridge) for the mTLS listener
#   other-ca.pem             an unrelated CA (a client trusting it rejects the broker)
#   expired-client.pem/.key  a client certificate that expired in 2020
#   keystore.password        the PKCS12 keystores' password
#   scram.password           the password of the SCRAM and PLAIN user `bridge`
#
# Usage: scripts/kafka-tls.sh DIR    (no-op when DIR already holds the material)
set -euo pipefail

dir="${1:?usage: kafka-tls.sh DIR}"
[ -f "$dir/.complete" ] && exit 0
command -v openssl >/dev/null || { echo "kafka-tls.sh: openssl is needed" >&2; exit 1; }
rm -rf "$dir"
mkdir -p "$dir"
cd "$dir"

q() { "$@" >/dev/null 2>&1 || { echo "kafka-tls.sh: failed: $*" >&2; "$@" >&2; exit 1; }; }

pw="$(openssl rand -hex 12)"
echo "$pw" >keystore.password
# The SCRAM/PLAIN password holds characters that break naive quoting (`'`, `#`, `%`);
# not `"` or `\`, which the broker's own JAAS and properties syntax would need escaped.
echo "tb-Scram#'%-$(openssl rand -hex 6)" >scram.password

ca() { # ca NAME CN
  q openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.pem" -days 3650 -subj "/CN=$2"
}
ca ca "tickbridge test CA"
ca other-ca "an unrelated CA"

cat >server.ext <<EXT
subjectAltName = IP:127.0.0.1, DNS:localhost
extendedKeyUsage = serverAuth
EXT
cat >client.ext <<EXT
extendedKeyUsage = clientAuth
EXT

# A minimal `openssl ca` setup, for certificates with dates in the past.
mkdir -p ca-db/new
: >ca-db/index.txt
echo 1000 >ca-db/serial
cat >ca.cnf <<CNF
[ ca ]
default_ca = test
[ test ]
dir = ca-db
database = ca-db/index.txt
new_certs_dir = ca-db/new
serial = ca-db/serial
certificate = ca.pem
private_key = ca.key
default_md = sha256
policy = any
unique_subject = no
[ any ]
commonName = supplied
CNF

# cert NAME CN EXTFILE [STARTDATE ENDDATE]
cert() {
  q openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2"
  if [ $# -ge 5 ]; then
    q openssl ca -batch -config ca.cnf -in "$1.csr" -out "$1.pem" -notext \
      -startdate "$4" -enddate "$5" -extfile "$3"
  else
    q openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
      -out "$1.pem" -days 825 -sha256 -extfile "$3"
  fi
}
cert broker "127.0.0.1" server.ext
cert expired "127.0.0.1" server.ext 20200101000000Z 20200102000000Z
cert client "bridge" client.ext
cert expired-client "bridge" client.ext 20200101000000Z 20200102000000Z

for ks in broker expired; do
  q openssl pkcs12 -export -in "$ks.pem" -inkey "$ks.key" -certfile ca.pem \
    -name "$ks" -out "$ks.p12" -passout "pass:$pw"
done
rm -f ./*.csr
touch .complete
