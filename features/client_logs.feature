@acceptance @on_demand
Feature: The client's logs read as the product's
  Around a download, smsts.log carries the task sequence engine's own lines: each step's program resolving its
  package, the transport to the CMG, the location request and its reply (B-54). Every line names its source.

  Background:
    Given the CMG serves content from Azure storage
    And the in-place upgrade task sequence PS100080 references these packages:
      | package  | name                     | type               | size   |
      | PS100081 | Windows 11 upgrade media | OS upgrade package | 3.2 GB |
      | PS100082 | Surface drivers          | Driver package     | 600 MB |
    And the task sequence has these steps:
      | step                     | action                   | package  | duration   |
      | Upgrade Operating System | Upgrade Operating System | PS100081 | 40 minutes |
      | Apply drivers            | Run Command Line         | PS100082 | 5 minutes  |
    And the packages are distributed to the CMG
    And the site runs Configuration Manager version 2107

  @behaviour:B-44 @behaviour:B-54 @behaviour:B-55
  Scenario: A token client's on-demand downloads are logged as the task sequence engine logs them
    Given an internet client CLIENT81 with a site-issued token
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And smsts.log shows the engine converting the CMG's MutualAuth URL to ServerAuth
    And smsts.log shows the program of the step "Upgrade Operating System" requesting the locations of PS100081 through the CMG
    And smsts.log shows the program of the step "Apply drivers" requesting the locations of PS100082 through the CMG
    And every line of the client's logs names its source file and thread
