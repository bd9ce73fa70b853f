// A client_golang program for the gateway's tests: it observes the given values into one native histogram
// and pushes it with client_golang's push package (delimited protobuf), as a Go batch job would.
//
//	native-pusher <gateway URL, e.g. http://127.0.0.1:9091 or http://127.0.0.1:9091/aggregate> <job> <push|add> <bucket factor> <v1,v2,...>
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
)

func main() {
	if len(os.Args) != 6 {
		fmt.Fprintln(os.Stderr, "usage: native-pusher <url> <job> <push|add> <bucket factor> <v1,v2,...>")
		os.Exit(2)
	}
	url, job, mode := os.Args[1], os.Args[2], os.Args[3]
	factor, err := strconv.ParseFloat(os.Args[4], 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad bucket factor:", err)
		os.Exit(2)
	}
	histogram := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:                        "go_native_seconds",
		Help:                        "Observed by client_golang.",
		NativeHistogramBucketFactor: factor,
	})
	for _, text := range strings.Split(os.Args[5], ",") {
		if text == "" {
			continue
		}
		value, err := strconv.ParseFloat(text, 64)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bad value:", err)
			os.Exit(2)
		}
		histogram.Observe(value)
	}
	pusher := push.New(url, job).Collector(histogram)
	if mode == "add" {
		err = pusher.Add()
	} else {
		err = pusher.Push()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
