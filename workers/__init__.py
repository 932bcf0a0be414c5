"""Everything arq: WorkerSettings, thin jobs, cron sweepers."""
