{{/* Names and labels shared by every template. */}}
{{- define "sessiond.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sessiond.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "sessiond.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "sessiond.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "sessiond.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sessiond.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "sessiond.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "sessiond.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
sessiond.io/mode: {{ .Values.mode }}
{{- end -}}

{{- define "sessiond.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "sessiond.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "sessiond.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* Seconds in a Go duration of whole s/m/h units such as "90s", "1m30s" (the schema allows these). */}}
{{- define "sessiond.seconds" -}}
{{- $total := 0 -}}
{{- range regexFindAll "[0-9]+[hms]" . -1 -}}
{{- $n := trimSuffix "h" (trimSuffix "m" (trimSuffix "s" .)) | int -}}
{{- if hasSuffix "h" . }}{{ $total = add $total (mul $n 3600) }}{{ else if hasSuffix "m" . }}{{ $total = add $total (mul $n 60) }}{{ else }}{{ $total = add $total $n }}{{ end -}}
{{- end -}}
{{- $total -}}
{{- end -}}

{{/* The Secret holding the tenants file: tenants.secret, or the one the chart makes of
tenants.file; empty without tenants. */}}
{{- define "sessiond.tenantsSecret" -}}
{{- if .Values.tenants.file -}}
{{- printf "%s-tenants" (include "sessiond.fullname" .) -}}
{{- else -}}
{{- .Values.tenants.secret -}}
{{- end -}}
{{- end -}}

{{/* Checks the scaling, shutdown and tenants rules the schema cannot express. */}}
{{- define "sessiond.validate" -}}
{{- $needed := add (include "sessiond.seconds" .Values.drainGrace | int) (include "sessiond.seconds" .Values.shutdownTimeout | int) -}}
{{- if lt (int .Values.terminationGracePeriodSeconds) (int $needed) -}}
{{- fail (printf "terminationGracePeriodSeconds=%d must be at least drainGrace + shutdownTimeout (%s + %s = %ds), or Kubernetes kills sessiond before it has drained" (int .Values.terminationGracePeriodSeconds) .Values.drainGrace .Values.shutdownTimeout (int $needed)) -}}
{{- end -}}
{{- if and (eq .Values.mode "redis") (not .Values.redis.addrs) -}}
{{- fail "redis.addrs is required when mode=redis (host:port of Redis, or of Redis Cluster seed nodes)" -}}
{{- end -}}
{{- if and .Values.tenants.secret .Values.tenants.file -}}
{{- fail "tenants.secret and tenants.file are both set: give the tenants file either as an existing Secret or inline, not both" -}}
{{- end -}}
{{- if and (eq .Values.mode "redis") .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) -}}
{{- fail (printf "autoscaling.minReplicas=%d is above autoscaling.maxReplicas=%d" (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) -}}
{{- end -}}
{{- end -}}

{{/* The pod template shared by the Deployment and the StatefulSet. */}}
{{- define "sessiond.podTemplate" -}}
metadata:
  labels:
    {{- include "sessiond.selectorLabels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "sessiond.serviceAccountName" . }}
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  containers:
    - name: sessiond
      image: {{ include "sessiond.image" . }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      envFrom:
        - configMapRef:
            name: {{ include "sessiond.fullname" . }}
      ports:
        - name: grpc
          containerPort: 50051
          protocol: TCP
        {{- if .Values.metrics.enabled }}
        - name: metrics
          containerPort: {{ .Values.metrics.port }}
          protocol: TCP
        {{- end }}
      {{- if eq .Values.mode "rocksdb" }}
      startupProbe:
        grpc:
          port: 50051
        periodSeconds: {{ .Values.rocksdb.startupProbe.periodSeconds }}
        failureThreshold: {{ .Values.rocksdb.startupProbe.failureThreshold }}
      {{- end }}
      readinessProbe:
        grpc:
          port: 50051
          service: sessiond.v1.SessionService
        periodSeconds: 5
        failureThreshold: 2
      livenessProbe:
        grpc:
          port: 50051
        periodSeconds: 10
        failureThreshold: 3
        timeoutSeconds: 2
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
        {{- if eq .Values.mode "rocksdb" }}
        - name: data
          mountPath: /data
        {{- end }}
        {{- if .Values.redis.passwordSecret }}
        - name: redis-password
          mountPath: /etc/sessiond/redis-password
          readOnly: true
        {{- end }}
        {{- if .Values.redis.tls.secret }}
        - name: redis-tls
          mountPath: /etc/sessiond/redis-tls
          readOnly: true
        {{- end }}
        {{- if .Values.tls.secret }}
        - name: tls
          mountPath: /etc/sessiond/tls
          readOnly: true
        {{- end }}
        {{- if include "sessiond.tenantsSecret" . }}
        - name: tenants
          mountPath: /etc/sessiond/tenants
          readOnly: true
        {{- end }}
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: 64Mi
    {{- if .Values.redis.passwordSecret }}
    - name: redis-password
      secret:
        secretName: {{ .Values.redis.passwordSecret }}
        items:
          - key: {{ .Values.redis.passwordKey }}
            path: password
    {{- end }}
    {{- if .Values.redis.tls.secret }}
    - name: redis-tls
      secret:
        secretName: {{ .Values.redis.tls.secret }}
    {{- end }}
    {{- if .Values.tls.secret }}
    - name: tls
      secret:
        secretName: {{ .Values.tls.secret }}
    {{- end }}
    {{- with include "sessiond.tenantsSecret" . }}
    - name: tenants
      # No subPath: Kubernetes then swaps the file in place when the Secret changes.
      secret:
        secretName: {{ . }}
        items:
          - key: {{ if $.Values.tenants.file }}tenants.json{{ else }}{{ $.Values.tenants.key }}{{ end }}
            path: tenants.json
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
