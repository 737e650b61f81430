# deploy/nats-cluster/nN.conf -> compose's node nats-N (compose.yaml's nats-config renders it; so does
# tests/deploy/test_compose.py). One container per node on compose's private network: every port is the
# standard one on 0.0.0.0, routes go to nats-1..3, passwords come from the volume natsusers, logs go to
# the container's output. Client and route TLS are dropped: no certificates are made here (the cluster's
# TLS is tested on deploy/nats-cluster itself). JetStream (sync_interval: always), lame duck and the
# cluster's name are the committed file's, unchanged.
/^ *#/d
s/^listen: 127\.0\.0\.1:[0-9]+.*/listen: 0.0.0.0:4222/
s/^http: 127\.0\.0\.1:[0-9]+.*/http: 0.0.0.0:8222/
s/^  listen: 127\.0\.0\.1:[0-9]+.*/  listen: 0.0.0.0:6222/
s|nats-route://127\.0\.0\.1:623([1-3])|nats-route://nats-\1:6222|
s|^include .*auth\.conf.*|include "auth.conf"|
s|^( *)store_dir: .*|\1store_dir: "/data"|
/^(pid_file|log_file):/d
/^tls [{]/,/^[}]/d
/^  tls [{]/,/^  [}]/d
