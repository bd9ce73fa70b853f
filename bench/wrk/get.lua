-- Plain GET of the URL given on the command line.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
done = function(summary, latency, requests) bench_report(summary, latency) end
