<#
.SYNOPSIS
  Registers the pipeline's scheduled jobs with Windows Task Scheduler: a refresh every 5 minutes and a nightly full
  rebuild with every data test.

.DESCRIPTION
  Each job runs in the project folder as the current user, at most one instance at a time (a run still going when
  the next is due is left to finish: refresh also holds its own lock), and is stopped by Task Scheduler after its
  time limit. The 5-minute job runs `refresh --timeout 240 --fail-on-alert`, then `reconcile` and `notify`; the
  nightly job runs `refresh --full --timeout 3000`. Exit code 3 from refresh means an alert is open: Task
  Scheduler records it as the job's last result.

.EXAMPLE
  powershell -ExecutionPolicy Bypass -File tasks\scheduling\register-windows-tasks.ps1
  powershell -ExecutionPolicy Bypass -File tasks\scheduling\register-windows-tasks.ps1 -Unregister
#>
param(
  [string]$ProjectDir = (Resolve-Path "$PSScriptRoot\..\..").Path,
  [string]$Deno = "npx -y deno@2.9.6",
  [int]$EveryMinutes = 5,
  [switch]$Unregister
)
$ErrorActionPreference = "Stop"
$names = @("crypto-pipeline refresh", "crypto-pipeline nightly full refresh")

if ($Unregister) {
  foreach ($name in $names) {
    Unregister-ScheduledTask -TaskName $name -Confirm:$false -ErrorAction SilentlyContinue
    Write-Host "Removed $name"
  }
  exit 0
}

function Register-PipelineTask([string]$Name, [string]$Commands, $Trigger, [TimeSpan]$Limit) {
  $action = New-ScheduledTaskAction -Execute "cmd.exe" -Argument "/c $Commands" -WorkingDirectory $ProjectDir
  $settings = New-ScheduledTaskSettingsSet -ExecutionTimeLimit $Limit -MultipleInstances IgnoreNew `
    -StartWhenAvailable -DontStopIfGoingOnBatteries -AllowStartIfOnBatteries
  Register-ScheduledTask -TaskName $Name -Action $action -Trigger $Trigger -Settings $settings -Force | Out-Null
  Write-Host "Registered '$Name' in $ProjectDir (time limit $Limit)"
}

# Every few minutes: incremental refresh with its data tests, then the kline check and the webhook.
$every = New-ScheduledTaskTrigger -Once -At (Get-Date).Date -RepetitionInterval (New-TimeSpan -Minutes $EveryMinutes)
Register-PipelineTask $names[0] `
  "$Deno task refresh --timeout 240 --fail-on-alert & $Deno task reconcile & $Deno task notify" `
  $every (New-TimeSpan -Minutes 4)

# Nightly: rebuild everything and test every row.
$nightly = New-ScheduledTaskTrigger -Daily -At 3:15am
Register-PipelineTask $names[1] "$Deno task refresh --full --timeout 3000" $nightly (New-TimeSpan -Minutes 55)
