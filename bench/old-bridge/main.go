// A stand-in for the old NATS → Cassandra bridge (app_cassandra_inject), written for the ingest
// benchmark so `smartmeter ingest` can be measured against the design it replaces. It keeps that
// design on purpose, flaws included: a core NATS queue subscription, one goroutine per message
// (no back-pressure), a synchronous insert and then a counter increment per reading, and a panic
// on any error. Only the libraries are current (nats.go, the Apache gocql driver).
//
// Settings come from the old bridge's variables, each overridable by a flag:
// NATS_URI, NATS_SUBJECT, CASSANDRA_URL, CASSANDRA_KEYSPACE, CASSANDRA_INJECT_CONSISTENCY,
// CASSANDRA_TIMEOUT (ms), TASK_SLOT, LOG_LEVEL.
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/nats-io/nats.go"
)

func env(name, fallback string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return fallback
}

var (
	natsURL     = flag.String("nats", env("NATS_URI", nats.DefaultURL), "NATS server URL")
	subject     = flag.String("subject", env("NATS_SUBJECT", "smartmeter.raw.voltage.data.>"), "subject to subscribe to")
	host        = flag.String("cassandra", env("CASSANDRA_URL", "127.0.0.1"), "the one Cassandra contact host")
	keyspace    = flag.String("keyspace", env("CASSANDRA_KEYSPACE", "smartmeter"), "keyspace holding raw_data and raw_data_count (slot key)")
	consistency = flag.String("consistency", env("CASSANDRA_INJECT_CONSISTENCY", "ONE"), "write consistency")
	timeoutMs   = flag.String("timeout-ms", env("CASSANDRA_TIMEOUT", ""), "per-request timeout in ms (empty: the driver's default)")
	slot        = flag.String("slot", env("TASK_SLOT", "1"), "value of the slot key of the counter row")
	trace       = flag.Bool("trace", env("LOG_LEVEL", "") == "TRACE", "log every voltage")
)

const insertCQL = `INSERT INTO raw_data (line, transformer, usagepoint, year, month, day, hour, minute, day_of_week,
 voltage, demand, val3, val4, val5, val6, val7, val8, val9, val10, val11, val12)
 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

const countCQL = `UPDATE raw_data_count SET count = count + 1 WHERE slot = ?`

var (
	cluster *gocql.ClusterConfig
	mu      sync.Mutex
	session *gocql.Session
)

// currentSession creates the session on first use and again if it was closed, as the old one did.
func currentSession() *gocql.Session {
	mu.Lock()
	defer mu.Unlock()
	if session == nil || session.Closed() {
		s, err := cluster.CreateSession()
		if err != nil {
			log.Fatalf("cassandra session: %v", err)
		}
		session = s
	}
	return session
}

func f32(b []byte) float32 { return math.Float32frombits(binary.BigEndian.Uint32(b)) }

// store writes one reading; any failure panics and so ends the process, by design.
func store(m *nats.Msg) {
	tokens := strings.Split(m.Subject, ".")
	n := len(tokens)
	// Parse errors are ignored (zero values), as before.
	line, _ := strconv.ParseInt(tokens[n-3], 10, 8)
	transformer, _ := strconv.ParseInt(tokens[n-2], 10, 32)
	point, _ := strconv.ParseInt(tokens[n-1], 10, 32)
	p := m.Data
	t := time.Unix(int64(binary.BigEndian.Uint64(p[0:8])), 0) // local time zone, as before
	voltage := f32(p[8:12])
	if *trace {
		log.Printf("%s voltage %v", m.Subject, voltage)
	}
	values := []interface{}{int8(line), int32(transformer), int32(point), int16(t.Year()), int8(t.Month()), int8(t.Day()),
		int8(t.Hour()), int8(t.Minute()), int8(t.Weekday()), voltage, f32(p[12:16])}
	for i := 0; i < 10; i++ {
		values = append(values, f32(p[16+4*i:20+4*i]))
	}
	s := currentSession()
	if err := s.Query(insertCQL, values...).Exec(); err != nil {
		log.Panicf("insert: %v", err)
	}
	if err := s.Query(countCQL, *slot).Exec(); err != nil {
		log.Panicf("count: %v", err)
	}
}

func main() {
	flag.Parse()
	cluster = gocql.NewCluster(*host)
	cluster.Keyspace = *keyspace
	cluster.ProtoVersion = 4
	cluster.DisableInitialHostLookup = true
	c, err := gocql.ParseConsistencyWrapper(*consistency)
	if err != nil {
		log.Panic(err)
	}
	cluster.Consistency = c
	if *timeoutMs != "" {
		ms, err := strconv.Atoi(*timeoutMs)
		if err != nil {
			log.Panicf("CASSANDRA_TIMEOUT: %v", err)
		}
		cluster.Timeout = time.Duration(ms) * time.Millisecond
	}
	currentSession()

	nc, err := nats.Connect(*natsURL)
	if err != nil {
		log.Panic(err)
	}
	if _, err := nc.QueueSubscribe(*subject, "cassandra_inject", func(m *nats.Msg) { go store(m) }); err != nil {
		log.Panic(err)
	}
	if err := nc.Flush(); err != nil {
		log.Panic(err)
	}
	// The benchmark starts publishing once it reads this line.
	fmt.Fprintln(os.Stderr, "old-bridge: subscribed to", *subject)
	for {
		time.Sleep(30 * time.Second)
	}
}
